#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A strict JSON tokenizer over borrowed bytes that allocates nothing on the success path.
///
/// The agent decodes every message on its hot path; a general JSON decoder (a tree of values,
/// a `String` per key) costs more than the database insert. The scanner validates the full JSON
/// grammar for what it skips, so a payload is either valid JSON or refused as `invalid_json`.
struct JSONScanner {
    /// What a value turned out to be when a number was expected.
    enum NumberFailure: Error {
        case wrongType(String)
        case nonFinite
        case invalid(String)
    }

    private let bytes: UnsafePointer<UInt8>
    private let count: Int
    private(set) var index = 0

    init(_ buffer: UnsafeRawBufferPointer) {
        bytes = buffer.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
            ?? UnsafePointer(bitPattern: 1)!
        count = buffer.count
    }

    var atEnd: Bool { index >= count }

    /// The byte at the cursor, or 0 at the end.
    @inline(__always)
    var peek: UInt8 { index < count ? bytes[index] : 0 }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Consumes `byte` after optional whitespace, or fails naming what was expected.
    @inline(__always)
    mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws(PayloadError) {
        skipWhitespace()
        guard peek == byte else { throw invalid("expected \(what())") }
        index += 1
    }

    /// Consumes `byte` if it is next (after whitespace).
    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        if peek == byte { index += 1; return true }
        return false
    }

    /// Scans a string starting at the cursor's `"`; returns the raw bytes between the quotes and
    /// whether they contain escapes.
    mutating func string() throws(PayloadError) -> (range: Range<Int>, escaped: Bool) {
        skipWhitespace()
        guard peek == UInt8(ascii: "\"") else { throw invalid("expected a string") }
        index += 1
        let start = index
        var escaped = false
        while index < count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return (start..<(index - 1), escaped)
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 1
                guard index < count else { break }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    guard index + 4 < count, (1...4).allSatisfy({ isHexDigit(bytes[index + $0]) }) else {
                        throw invalid("bad \\u escape in a string")
                    }
                    index += 5
                default:
                    throw invalid("bad escape in a string")
                }
            } else if byte < 0x20 {
                throw invalid("control character in a string")
            } else {
                index += 1
            }
        }
        throw invalid("unterminated string")
    }

    /// Whether the raw string bytes in `range` equal `name` (both unescaped UTF-8).
    @inline(__always)
    func bytes(in range: Range<Int>, equal name: [UInt8]) -> Bool {
        guard range.count == name.count else { return false }
        return name.withUnsafeBufferPointer { memcmp(bytes + range.lowerBound, $0.baseAddress!, range.count) == 0 }
    }

    /// The text of `range`, for messages and slow paths.
    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: bytes + range.lowerBound, count: range.count), as: UTF8.self)
    }

    /// The string in `range` with its escapes decoded (a slow path: payload field names and
    /// values never need it).
    func unescaped(_ range: Range<Int>) throws(PayloadError) -> String {
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        var offset = range.lowerBound
        func flush() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }
        func hex(at position: Int) -> UInt32 {
            (0..<4).reduce(0) { value, digit in
                let byte = bytes[position + digit]
                let nibble: UInt8 = byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : (byte | 0x20) - UInt8(ascii: "a") + 10
                return value << 4 | UInt32(nibble)
            }
        }
        while offset < range.upperBound {
            let byte = bytes[offset]
            guard byte == UInt8(ascii: "\\") else {
                raw.append(byte)
                offset += 1
                continue
            }
            flush()
            let code = bytes[offset + 1]
            offset += 2
            switch code {
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var value = hex(at: offset)
                offset += 4
                if (0xD800..<0xDC00).contains(value), offset + 6 <= range.upperBound,
                   bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") {
                    let low = hex(at: offset + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                        offset += 6
                    }
                }
                guard let scalar = Unicode.Scalar(value) else { throw invalid("lone surrogate in a \\u escape") }
                scalars.append(scalar)
            default: scalars.append(Unicode.Scalar(code))
            }
        }
        flush()
        return String(scalars)
    }

    /// Scans a number at the cursor. Fails with `.wrongType` for any other JSON value, and with
    /// `.nonFinite` for `NaN`, `Infinity` or a literal that overflows a double.
    mutating func number() throws(NumberFailure) -> Double {
        skipWhitespace()
        let start = index
        var negative = false
        if peek == UInt8(ascii: "-") { negative = true; index += 1 }
        switch peek {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): break
        case UInt8(ascii: "N") where hasPrefix("NaN"), UInt8(ascii: "I") where hasPrefix("Infinity"):
            throw .nonFinite
        case UInt8(ascii: "\""): throw .wrongType("a string")
        case UInt8(ascii: "t"), UInt8(ascii: "f"): throw .wrongType("a boolean")
        case UInt8(ascii: "n"): throw .wrongType("null")
        case UInt8(ascii: "["): throw .wrongType("an array")
        case UInt8(ascii: "{"): throw .wrongType("an object")
        default: throw .invalid(index < count ? "unexpected character" : "unexpected end")
        }
        if let value = shortDecimal() { return negative ? -value : value }
        // Significant digits go into `mantissa` while they fit; `exponent` scales it.
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var exact = true
        if peek == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < count, let digit = digitValue(bytes[index]) {
                accumulate(digit, into: &mantissa, significant: &significant, exponent: &exponent, exact: &exact)
                index += 1
            }
        }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard index < count, digitValue(bytes[index]) != nil else { throw .invalid("digit expected after '.'") }
            while index < count, let digit = digitValue(bytes[index]) {
                accumulate(digit, into: &mantissa, significant: &significant, exponent: &exponent, exact: &exact)
                exponent -= 1
                index += 1
            }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") {
                exponentNegative = peek == UInt8(ascii: "-")
                index += 1
            }
            guard index < count, digitValue(bytes[index]) != nil else { throw .invalid("digit expected in exponent") }
            var written = 0
            while index < count, let digit = digitValue(bytes[index]) {
                written = min(written * 10 + digit, 100_000)
                index += 1
            }
            exponent += exponentNegative ? -written : written
        }
        let value: Double
        if exact && exponent == 0 {
            // An integer: converting it rounds correctly (timestamps in ns exceed 2^53).
            value = Double(mantissa)
        } else if exact && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            // Clinger's fast path: both operands are exact doubles, so one IEEE operation
            // rounds correctly.
            let scaled = Double(mantissa)
            value = exponent < 0 ? scaled / Self.powersOfTen[-exponent] : scaled * Self.powersOfTen[exponent]
        } else {
            value = slowParse(start..<index)
        }
        guard value.isFinite else { throw .nonFinite }
        return negative ? -value : value
    }

    /// The common number of sample blocks and readings, `-12.34567`: at most 15 digits, no
    /// exponent. Its digits make an exact integer and one division by an exact power of ten
    /// rounds correctly (Clinger's fast path), in one tight loop. Nil, with the cursor left
    /// where it was, for anything else: the general path takes it.
    @inline(__always)
    private mutating func shortDecimal() -> Double? {
        var position = index
        var mantissa: UInt64 = 0
        var digits = 0
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < count {
                let digit = bytes[position] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                mantissa = mantissa &* 10 &+ UInt64(digit)
                digits += 1
                position += 1
            }
        }
        var fraction = 0
        if position < count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            let start = position
            while position < count {
                let digit = bytes[position] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                mantissa = mantissa &* 10 &+ UInt64(digit)
                position += 1
            }
            fraction = position - start
            guard fraction > 0 else { return nil }
        }
        guard digits + fraction <= 15, position == count || bytes[position] | 0x20 != UInt8(ascii: "e") else { return nil }
        index = position
        return fraction == 0 ? Double(mantissa) : Double(mantissa) / Self.powersOfTen[fraction]
    }

    @inline(__always)
    private func accumulate(_ digit: Int, into mantissa: inout UInt64, significant: inout Int,
                            exponent: inout Int, exact: inout Bool) {
        if mantissa == 0 && digit == 0 { return }
        if significant < 19 {
            mantissa = mantissa &* 10 &+ UInt64(digit)
            significant += 1
        } else {
            exact = false
        }
    }

    /// strtod on a NUL-terminated copy, for the rare literal the fast path cannot take.
    private func slowParse(_ range: Range<Int>) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: range.count + 1) { buffer in
            for offset in 0..<range.count { buffer[offset] = CChar(bitPattern: bytes[range.lowerBound + offset]) }
            buffer[range.count] = 0
            return abs(strtod(buffer.baseAddress!, nil))
        }
    }

    /// Skips any JSON value, validating it. Nesting deeper than 32 is refused.
    mutating func skipValue(depth: Int = 0) throws(PayloadError) {
        guard depth < 32 else { throw invalid("nesting deeper than 32") }
        skipWhitespace()
        switch peek {
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "{"):
            index += 1
            if consume(UInt8(ascii: "}")) { return }
            repeat {
                _ = try string()
                try expect(UInt8(ascii: ":"), "':'")
                try skipValue(depth: depth + 1)
            } while consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"), "',' or '}'")
        case UInt8(ascii: "["):
            index += 1
            if consume(UInt8(ascii: "]")) { return }
            repeat { try skipValue(depth: depth + 1) } while consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"), "',' or ']'")
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            do {
                _ = try number()
            } catch {
                switch error {
                case .nonFinite: throw invalid("NaN or Infinity is not JSON")
                case .wrongType(let found): throw invalid("unexpected \(found)")
                case .invalid(let why): throw invalid(why)
                }
            }
        }
    }

    private func hasPrefix(_ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        return index + length <= count && memcmp(bytes + index, word.utf8Start, length) == 0
    }

    mutating func literal(_ word: StaticString) throws(PayloadError) {
        guard hasPrefix(word) else { throw invalid("unexpected character") }
        index += word.utf8CodeUnitCount
    }

    func invalid(_ why: String) -> PayloadError {
        PayloadError(.invalidJSON, "\(why) at byte \(index)")
    }

    @inline(__always)
    private func digitValue(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte &- UInt8(ascii: "0")) : nil
    }

    private func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
             UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }
}
