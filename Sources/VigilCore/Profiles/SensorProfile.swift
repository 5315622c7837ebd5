/// One sensor of a device type: what it measures, how it arrives, and which values are valid.
public struct SensorProfile: Sendable, Equatable, Codable {
    /// How a sensor's readings arrive.
    public enum Kind: String, Sendable, Codable {
        /// One value per message: `{"seq", "ts", "value"}`, or a field of a multi-sensor message.
        case value
        /// A block of samples at a fixed rate: `{"seq", "ts", "rate_hz", "values": [...]}`.
        case block
    }

    /// The name used in topics and payload fields.
    public var name: String
    /// The physical unit, for people and reports (`g`, `degC`, `A`, `bar`).
    public var unit: String
    /// Single values or sample blocks.
    public var kind: Kind
    /// Sample rate of a block sensor, used when a block carries no `rate_hz` of its own.
    public var rateHz: Double?
    /// The lowest valid value; anything below is refused as `out_of_range`.
    public var min: Double
    /// The highest valid value.
    public var max: Double

    public init(name: String, unit: String, kind: Kind, rateHz: Double? = nil, min: Double, max: Double) {
        self.name = name
        self.unit = unit
        self.kind = kind
        self.rateHz = rateHz
        self.min = min
        self.max = max
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, unit, kind, min, max
        case rateHz = "rate_hz"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        unit = try container.decode(String.self, forKey: .unit)
        kind = try container.decode(Kind.self, forKey: .kind)
        rateHz = try container.decodeIfPresent(Double.self, forKey: .rateHz)
        min = try container.decode(Double.self, forKey: .min)
        max = try container.decode(Double.self, forKey: .max)

        guard TopicPattern.isPlainSegment(name) else {
            throw decoder.invalid(CodingKeys.name, "\"\(name)\" must be a non-empty name without '/', '+', '#', '{' or '}'")
        }
        guard min.isFinite, max.isFinite, min < max else {
            throw decoder.invalid(CodingKeys.max, "must be greater than min (\(min))")
        }
        if kind == .block {
            guard let rateHz, rateHz.isFinite, rateHz > 0 else {
                throw decoder.invalid(CodingKeys.rateHz, "a block sensor needs a positive rate_hz")
            }
        }
    }
}
