/// What a technician, a plant's maintenance system or the simulator reports about a machine:
/// a confirmed fault or a repair. These events are the labels training learns from.
///
/// Sent as JSON to `<maintenance prefix>/<device>` (default `vigil/maintenance/<device>`):
/// `{"device": "motor-0001", "kind": "fault", "mode": "outer_race", "ts": 1750000000.0,
///   "source": "technician", "note": "spall on the outer race"}`. `device` defaults to the
/// topic's last segment; `kind` is `fault`, `repair` or `inspection`; `ts` is Unix seconds.
public struct MaintenanceEvent: Sendable, Equatable {
    /// What happened.
    public enum Kind: String, Sendable, CaseIterable {
        /// A confirmed failure or fault, with its mode if known.
        case fault
        /// The machine was repaired and is healthy again.
        case repair
        /// The machine was inspected and found healthy.
        case inspection
    }

    public var device: String
    public var kind: Kind
    /// The fault mode (`outer_race`, ...), free text for modes a profile does not name.
    public var mode: String?
    /// When it happened, Unix seconds.
    public var timestamp: Double
    public var source: String?
    public var note: String?

    public init(device: String, kind: Kind, timestamp: Double, mode: String? = nil, source: String? = nil, note: String? = nil) {
        self.device = device
        self.kind = kind
        self.timestamp = timestamp
        self.mode = mode
        self.source = source
        self.note = note
    }

    /// Decodes an event from its payload; `topicDevice` is the topic's last segment.
    public init(payload: [UInt8], topicDevice: String) throws(PayloadError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(payload)
        } catch {
            throw PayloadError(.invalidJSON, error.description)
        }
        guard case .object = value else { throw PayloadError(.invalidJSON, "a maintenance event must be a JSON object") }
        func text(_ key: String) throws(PayloadError) -> String? {
            switch value[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            case let other?: throw PayloadError(.wrongType, "field '\(key)': expected a string, got \(other.kindName)")
            }
        }
        device = try text("device") ?? topicDevice
        guard let kindText = try text("kind") else { throw PayloadError(.missingField, "field 'kind' is required (fault, repair or inspection)") }
        guard let kind = Kind(rawValue: kindText) else {
            throw PayloadError(.wrongType, "field 'kind': must be fault, repair or inspection, got \"\(kindText)\"")
        }
        self.kind = kind
        mode = try text("mode")
        source = try text("source")
        note = try text("note")
        switch value["ts"] {
        case .number(let seconds)? where seconds > 0: timestamp = seconds
        case nil, .null?: throw PayloadError(.missingField, "field 'ts' is required (Unix seconds)")
        case .number?: throw PayloadError(.outOfRange, "field 'ts' must be after 1970")
        case let other?: throw PayloadError(.wrongType, "field 'ts': expected a number, got \(other.kindName)")
        }
        guard !device.isEmpty else { throw PayloadError(.missingField, "field 'device' is required") }
    }
}
