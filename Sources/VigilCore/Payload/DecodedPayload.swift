/// One decoded message, in a form the caller keeps and reuses so that decoding allocates
/// nothing once its arrays have grown to the largest message seen.
public struct DecodedPayload: Sendable {
    /// One sensor's value in a single-value or multi-sensor message.
    public struct SensorValue: Sendable, Equatable {
        /// The sensor's index in its device profile.
        public var sensor: Int
        public var value: Double

        public init(sensor: Int, value: Double) {
            self.sensor = sensor
            self.value = value
        }
    }

    /// The device's sequence number for this message.
    public var sequence: Int64 = 0
    /// Event time of the (first) sample, Unix seconds.
    public var timestamp: Double = 0
    /// Single values (one, or one per sensor of a multi-sensor message); empty for a block.
    public var values: [SensorValue] = []
    /// The block's sensor index, or nil when this is not a block.
    public var blockSensor: Int?
    /// The block's sample rate.
    public var rateHz: Double = 0
    /// The block's samples, in time order.
    public var samples: [Double] = []

    public init() {}
}
