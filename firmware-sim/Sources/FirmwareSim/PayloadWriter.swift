/// Writes the flat JSON payloads devices send, straight into bytes: a simulated fleet formats
/// millions of numbers a second, and `String(describing:)` per sample would be its bottleneck.
struct PayloadWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    mutating func begin() {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func end() { bytes.append(UInt8(ascii: "}")) }

    private mutating func key(_ name: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: name.utf8)
        bytes.append(contentsOf: "\":".utf8)
    }

    mutating func field(_ name: String, integer value: Int64) {
        key(name)
        appendInteger(value)
    }

    /// A number with a fixed count of decimals (trailing zeros dropped).
    mutating func field(_ name: String, _ value: Double, decimals: Int) {
        key(name)
        appendNumber(value, decimals: decimals)
    }

    mutating func field(_ name: String, text: String) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: text.utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func field(_ name: String, samples: [Double], decimals: Int) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (index, sample) in samples.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendNumber(sample, decimals: decimals)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Appends raw text as a field's value, for deliberately malformed payloads.
    mutating func field(_ name: String, raw: String) {
        key(name)
        bytes.append(contentsOf: raw.utf8)
    }

    private mutating func appendInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    private static let scales: [Double] = (0...9).map { exponent in (0..<exponent).reduce(1.0) { value, _ in value * 10 } }

    private mutating func appendNumber(_ value: Double, decimals: Int) {
        let scale = Self.scales[decimals]
        let scaled = (value * scale).rounded()
        guard scaled.magnitude < 9e15 else {
            bytes.append(contentsOf: "\(value)".utf8)
            return
        }
        var fixed = Int64(scaled)
        if fixed < 0 {
            bytes.append(UInt8(ascii: "-"))
            fixed = -fixed
        }
        let whole = fixed / Int64(scale)
        var fraction = fixed % Int64(scale)
        appendInteger(whole)
        guard fraction > 0 else { return }
        var places = decimals
        while fraction % 10 == 0 { fraction /= 10; places -= 1 }
        bytes.append(UInt8(ascii: "."))
        let text = String(fraction)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: places - text.count))
        bytes.append(contentsOf: text.utf8)
    }
}
