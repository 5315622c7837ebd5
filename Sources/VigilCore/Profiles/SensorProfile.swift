/// One sensor of a device type: what it measures, how it arrives, and which values are valid.
public struct SensorProfile: Sendable, Equatable {
    /// How a sensor's readings arrive.
    public enum Kind: String, Sendable, CaseIterable {
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
    /// What the simulator generates for it; nil for a sensor it leaves alone.
    public var signal: SignalModel?
    /// Machine-time seconds between messages from a simulated device (a value, or a whole block).
    public var intervalSeconds: Double
    /// Samples per block message of a simulated block sensor.
    public var blockSamples: Int
    /// Whether a window of one repeated value means the sensor is stuck (`"stuck_check"`, default
    /// true); a coarse sensor that may legitimately hold one reading for a window turns it off.
    public var stuckCheck = true
    /// The Sparkplug B metric that carries it (`"sparkplug_metric"`, default its name): a device's
    /// birth naming every sensor's metric is a device of this type.
    public var sparkplugMetric: String

    public init(name: String, unit: String, kind: Kind, rateHz: Double? = nil, min: Double, max: Double,
                signal: SignalModel? = nil, intervalSeconds: Double = 1, blockSamples: Int = 1024) {
        self.name = name
        self.unit = unit
        self.kind = kind
        self.rateHz = rateHz
        self.min = min
        self.max = max
        self.signal = signal
        self.intervalSeconds = intervalSeconds
        self.blockSamples = blockSamples
        sparkplugMetric = name
    }

    /// Reads one entry of a profile's `sensors` list.
    init(_ reader: JSONObjectReader) throws(ConfigurationError) {
        name = try reader.string("name")
        unit = try reader.string("unit")
        kind = try reader.choice("kind")
        rateHz = try reader.optionalDouble("rate_hz")
        min = try reader.double("min")
        max = try reader.double("max")
        signal = reader.value("signal") == nil ? nil : try reader.choice("signal") as SignalModel
        intervalSeconds = try reader.optionalDouble("interval_s") ?? 1
        blockSamples = try reader.optionalInteger("block_samples") ?? 1024
        stuckCheck = try reader.optionalBool("stuck_check") ?? true
        sparkplugMetric = try reader.optionalString("sparkplug_metric") ?? name
        try reader.rejectUnknownFields()
        guard TopicPattern.isPlainSegment(name) else {
            throw reader.error("name", "\"\(name)\" must be a non-empty name without '/', '+', '#', '{' or '}'")
        }
        guard min < max else { throw reader.error("max", "must be greater than min (\(min))") }
        if kind == .block {
            guard let rateHz, rateHz > 0 else { throw reader.error("rate_hz", "a block sensor needs a positive rate_hz") }
            guard (16...65_536).contains(blockSamples) else {
                throw reader.error("block_samples", "must be 16 to 65536, got \(blockSamples)")
            }
        }
        guard intervalSeconds > 0 else { throw reader.error("interval_s", "must be positive, got \(intervalSeconds)") }
    }
}
