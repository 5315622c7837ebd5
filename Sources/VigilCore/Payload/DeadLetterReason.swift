/// Why a message was refused. Each refusal is stored in the dead-letter table with its reason
/// and counted per reason, so a misbehaving device shows up in `vigil-agent status`.
public enum DeadLetterReason: String, Sendable, CaseIterable {
    /// Not a JSON object, or JSON with a syntax error.
    case invalidJSON = "invalid_json"
    /// A known field holds the wrong JSON type (a string where a number belongs).
    case wrongType = "wrong_type"
    /// A required field (`seq`, `ts`, a value) is absent.
    case missingField = "missing_field"
    /// NaN or Infinity, spelled out or overflowing a double.
    case nonFinite = "non_finite"
    /// A value outside the range its device profile allows.
    case outOfRange = "out_of_range"
    /// A payload larger than the configured limit.
    case oversized = "oversized"
    /// A topic that no device profile's pattern matches.
    case unknownTopic = "unknown_topic"
    /// A topic naming a sensor its device profile does not have.
    case unknownSensor = "unknown_sensor"
    /// A sample block for a single-value sensor, or the other way round.
    case wrongKind = "wrong_kind"
    /// A binary block (`BinaryBlock`) with a bad header, or bytes that are no whole number of samples.
    case invalidBlock = "invalid_block"
    /// Not a Sparkplug B protobuf payload, or a malformed one.
    case invalidProtobuf = "invalid_protobuf"
    /// Sparkplug data from an edge node or device whose birth this agent has not seen (a rebirth
    /// is requested), or naming a metric its birth did not declare.
    case noBirth = "no_birth"
    /// A Sparkplug birth whose metrics match no device profile's sensors.
    case unknownDevice = "unknown_device"
}

/// A refused payload: the reason code that is counted, and a sentence for the operator that
/// names the field at fault.
public struct PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The counted reason.
    public var reason: DeadLetterReason
    /// What exactly was wrong, naming the field.
    public var detail: String

    public init(_ reason: DeadLetterReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}
