/// Finds the device profile, device and sensor a topic belongs to, across all profiles.
public struct TopicRouter: Sendable {
    /// Where a topic leads.
    public struct Route: Sendable, Equatable {
        /// Index of the device profile in the router's `profiles`.
        public var profile: Int
        /// The device name, from the topic's `{device}` segment.
        public var device: String
        /// The sensor's index in its profile, or nil when the payload carries the sensors.
        public var sensor: Int?

        public init(profile: Int, device: String, sensor: Int?) {
            self.profile = profile
            self.device = device
            self.sensor = sensor
        }
    }

    /// The profiles, in the order given.
    public let profiles: [DeviceProfile]
    private let patterns: [(pattern: TopicPattern, profile: Int)]

    public init(profiles: [DeviceProfile]) {
        self.profiles = profiles
        patterns = profiles.enumerated().flatMap { index, profile in
            profile.topics.map { (try! TopicPattern($0), index) }
        }
    }

    /// Every subscription filter the profiles need, without repeats.
    public var subscriptions: [String] {
        var seen = Set<String>()
        return patterns.map(\.pattern.subscription).filter { seen.insert($0).inserted }
    }

    /// Routes `topic`, or says why it cannot be routed (`unknown_topic`, `unknown_sensor`).
    public func route(_ topic: String) -> Result<Route, PayloadError> {
        var topic = topic
        return topic.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            for (pattern, profileIndex) in patterns {
                guard let match = pattern.match(raw) else { continue }
                let device = String(decoding: raw[match.device], as: UTF8.self)
                guard let sensorRange = match.sensor else {
                    return .success(Route(profile: profileIndex, device: device, sensor: nil))
                }
                let sensorName = String(decoding: raw[sensorRange], as: UTF8.self)
                let profile = profiles[profileIndex]
                guard let sensor = profile.sensorIndex(named: sensorName) else {
                    return .failure(PayloadError(.unknownSensor,
                        "device type \(profile.type) has no sensor \"\(sensorName)\" (it has \(profile.sensors.map(\.name).joined(separator: ", ")))"))
                }
                return .success(Route(profile: profileIndex, device: device, sensor: sensor))
            }
            return .failure(PayloadError(.unknownTopic, "no device profile has a topic pattern matching it"))
        }
    }
}
