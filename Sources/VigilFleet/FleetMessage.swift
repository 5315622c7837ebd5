import VigilCore

/// How every JSON message of the fleet protocol is opened: parsed, and refused as
/// `unsupported_format` unless it is the format this side reads. Its reader then takes the fields;
/// the caller turns any other error into `malformed`.
enum FleetMessage {
    /// The object of message `kind` ("drift report") in `bytes`, of format `expected`, the one
    /// `side` ("this trainer") reads.
    static func open(_ bytes: [UInt8], kind: String, format expected: Int, readBy side: String) throws -> JSONObjectReader {
        let json = try JSONParser.parse(bytes)
        let reader = try JSONObjectReader(json, file: kind)
        let format = try reader.integer("format")
        guard format == expected else {
            throw FleetError("unsupported_format", "\(kind) format \(format); \(side) reads \(expected)")
        }
        return reader
    }
}
