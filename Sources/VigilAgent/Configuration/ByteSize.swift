import VigilCore

/// A size written the way people write it in a config: `1073741824`, `"512 MiB"`, `"1 GB"`,
/// `"256KiB"`. Units: B, KB/MB/GB (powers of 1000), KiB/MiB/GiB (powers of 1024).
public struct ByteSize: Sendable, Equatable, CustomStringConvertible {
    public var bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    /// Reads `key` of `reader` as a size, or returns `fallback` when absent.
    static func read(_ key: String, of reader: JSONObjectReader, default fallback: ByteSize) throws(ConfigurationError) -> ByteSize {
        switch reader.value(key) {
        case nil:
            return fallback
        case .number(let number) where number > 0 && number == number.rounded():
            return ByteSize(bytes: Int64(number))
        case .string(let text):
            guard let bytes = parse(text), bytes > 0 else {
                throw reader.error(key, "\"\(text)\" is not a size; write e.g. 1073741824, \"512 MiB\" or \"1 GB\"")
            }
            return ByteSize(bytes: bytes)
        case let value?:
            throw reader.error(key, "expected a positive number of bytes or a size like \"512 MiB\", got \(value.serialized(indent: 0))")
        }
    }

    static func parse(_ text: String) -> Int64? {
        let compact = text.filter { !$0.isWhitespace }
        let digits = compact.prefix { $0.isNumber || $0 == "." }
        let unit = compact.dropFirst(digits.count).lowercased()
        guard let number = Double(digits), number.isFinite else { return nil }
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "kb", "k": scale = 1e3
        case "mb", "m": scale = 1e6
        case "gb", "g": scale = 1e9
        case "kib": scale = 1024
        case "mib": scale = 1024 * 1024
        case "gib": scale = 1024 * 1024 * 1024
        default: return nil
        }
        return Int64(number * scale)
    }

    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : "\((value * 10).rounded() / 10) \(units[unit])"
    }
}
