/// Parses JSON text into a `JSONValue`, strictly (no trailing commas, no comments, no NaN),
/// reporting the line and column of the first error.
public enum JSONParser {
    /// A syntax error, with its place in the text.
    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var problem: String
        public var description: String { "not valid JSON: \(problem) at line \(line), column \(column)" }
    }

    /// Parses `bytes` as one JSON document.
    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> JSONValue {
        let result = bytes.withUnsafeBytes { raw -> Result<JSONValue, SyntaxError> in
            var scanner = JSONScanner(raw)
            do throws(PayloadError) {
                let value = try parseValue(&scanner, depth: 0)
                scanner.skipWhitespace()
                guard scanner.atEnd else { throw scanner.invalid("trailing characters after the document") }
                return .success(value)
            } catch {
                return .failure(locate(error, offset: scanner.index, in: bytes))
            }
        }
        return try result.get()
    }

    /// Parses a UTF-8 string.
    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private static func parseValue(_ scanner: inout JSONScanner, depth: Int) throws(PayloadError) -> JSONValue {
        guard depth < 64 else { throw scanner.invalid("nesting deeper than 64") }
        scanner.skipWhitespace()
        switch scanner.peek {
        case UInt8(ascii: "{"):
            _ = scanner.consume(UInt8(ascii: "{"))
            var fields: [(key: String, value: JSONValue)] = []
            if scanner.consume(UInt8(ascii: "}")) { return .object(fields) }
            repeat {
                let key = try string(&scanner)
                guard !fields.contains(where: { $0.key == key }) else { throw scanner.invalid("field \"\(key)\" appears twice") }
                try scanner.expect(UInt8(ascii: ":"), "':' after a field name")
                fields.append((key, try parseValue(&scanner, depth: depth + 1)))
            } while scanner.consume(UInt8(ascii: ","))
            try scanner.expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(fields)
        case UInt8(ascii: "["):
            _ = scanner.consume(UInt8(ascii: "["))
            var items: [JSONValue] = []
            if scanner.consume(UInt8(ascii: "]")) { return .array(items) }
            repeat { items.append(try parseValue(&scanner, depth: depth + 1)) } while scanner.consume(UInt8(ascii: ","))
            try scanner.expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(items)
        case UInt8(ascii: "\""):
            return .string(try string(&scanner))
        case UInt8(ascii: "t"):
            try scanner.literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try scanner.literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try scanner.literal("null")
            return .null
        default:
            do {
                return .number(try scanner.number())
            } catch {
                switch error {
                case .nonFinite: throw scanner.invalid("NaN and Infinity are not JSON")
                case .wrongType(let found): throw scanner.invalid("unexpected \(found)")
                case .invalid(let why): throw scanner.invalid(why)
                }
            }
        }
    }

    private static func string(_ scanner: inout JSONScanner) throws(PayloadError) -> String {
        let (range, escaped) = try scanner.string()
        return escaped ? try scanner.unescaped(range) : scanner.text(range)
    }

    private static func locate(_ error: PayloadError, offset: Int, in bytes: [UInt8]) -> SyntaxError {
        var line = 1
        var column = 1
        for byte in bytes.prefix(min(offset, bytes.count)) {
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
        }
        var problem = error.detail
        if let at = problem.firstRange(of: " at byte ") { problem = String(problem[..<at.lowerBound]) }
        return SyntaxError(line: line, column: column, problem: problem)
    }
}
