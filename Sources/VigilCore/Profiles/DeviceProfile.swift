import FoundationEssentials

/// A device type, described once in `devices/<type>.json` and read by both the agent (topics,
/// decoding, valid ranges) and the simulator (what to generate).
public struct DeviceProfile: Sendable, Equatable, Codable {
    /// The device type's name, e.g. `induction-motor`.
    public var type: String
    /// A sentence for people.
    public var description: String?
    /// Topic patterns such as `plant/{device}/{sensor}`; a pattern without `{sensor}` carries
    /// several sensors in one message, as fields named after them.
    public var topics: [String]
    /// The unit of `ts` in this type's payloads.
    public var timestampUnit: TimestampUnit
    /// The sensors, in the order the profile lists them.
    public var sensors: [SensorProfile]

    public init(type: String, description: String? = nil, topics: [String],
                timestampUnit: TimestampUnit = .seconds, sensors: [SensorProfile]) {
        self.type = type
        self.description = description
        self.topics = topics
        self.timestampUnit = timestampUnit
        self.sensors = sensors
    }

    /// The sensor named `name`, with its index in `sensors`.
    public func sensorIndex(named name: String) -> Int? {
        sensors.firstIndex { $0.name == name }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, description, topics, sensors
        case timestampUnit = "timestamp_unit"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        topics = try container.decode([String].self, forKey: .topics)
        timestampUnit = try container.decodeIfPresent(TimestampUnit.self, forKey: .timestampUnit) ?? .seconds
        sensors = try container.decode([SensorProfile].self, forKey: .sensors)

        guard TopicPattern.isPlainSegment(type) else {
            throw decoder.invalid(CodingKeys.type, "\"\(type)\" must be a non-empty name without '/', '+', '#', '{' or '}'")
        }
        guard !topics.isEmpty else { throw decoder.invalid(CodingKeys.topics, "needs at least one topic pattern") }
        for (index, topic) in topics.enumerated() {
            do {
                _ = try TopicPattern(topic)
            } catch {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath + [CodingKeys.topics, AnyCodingKey(intValue: index)!],
                    debugDescription: error.description))
            }
        }
        guard !sensors.isEmpty else { throw decoder.invalid(CodingKeys.sensors, "needs at least one sensor") }
        var seen = Set<String>()
        for sensor in sensors where !seen.insert(sensor.name).inserted {
            throw decoder.invalid(CodingKeys.sensors, "sensor \"\(sensor.name)\" is listed twice")
        }
        let multiTopic = try topics.contains { try !TopicPattern($0).hasSensor }
        if multiTopic, let block = sensors.first(where: { $0.kind == .block }) {
            throw decoder.invalid(CodingKeys.topics,
                "a topic without {sensor} carries single values only, but sensor \"\(block.name)\" is a block sensor")
        }
    }
}

extension DeviceProfile {
    /// Reads and validates one profile file.
    public static func load(file path: String) throws(ConfigurationError) -> DeviceProfile {
        try StrictJSON.decode(DeviceProfile.self, fromFile: path)
    }

    /// Reads every `*.json` in `folder`, in file-name order, and checks that no two profiles
    /// claim the same topics.
    public static func loadAll(folder: String) throws(ConfigurationError) -> [DeviceProfile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw ConfigurationError(file: folder, field: "", problem: "cannot list the device profile folder (\(error))")
        }
        guard !names.isEmpty else {
            throw ConfigurationError(file: folder, field: "", problem: "holds no device profiles (*.json)")
        }
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        var profiles: [DeviceProfile] = []
        var claimed: [(pattern: TopicPattern, file: String)] = []
        var types: [String: String] = [:]
        for name in names {
            let file = base + name
            let profile = try load(file: file)
            if let other = types[profile.type] {
                throw ConfigurationError(file: file, field: "type", problem: "\"\(profile.type)\" is already the type of \(other)")
            }
            types[profile.type] = file
            for (index, topic) in profile.topics.enumerated() {
                let pattern = try! TopicPattern(topic)
                if let clash = claimed.first(where: { $0.pattern.overlaps(pattern) }) {
                    throw ConfigurationError(file: file, field: "topics[\(index)]",
                        problem: "\"\(topic)\" matches the same topics as \"\(clash.pattern.text)\" in \(clash.file)")
                }
                claimed.append((pattern, file))
            }
            profiles.append(profile)
        }
        return profiles
    }
}
