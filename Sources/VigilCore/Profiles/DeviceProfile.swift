/// A device type, described once in `devices/<type>.json` and read by both the agent (topics,
/// decoding, valid ranges) and the simulator (what to generate).
public struct DeviceProfile: Sendable, Equatable {
    /// The device type's name, e.g. `induction-motor`.
    public var type: String
    /// A sentence for people.
    public var description: String?
    /// Topic patterns such as `plant/{device}/{sensor}`; a pattern without `{sensor}` carries
    /// several sensors in one message, as fields named after them. None for a device type that
    /// speaks only Sparkplug B.
    public var topics: [String]
    /// The unit of `ts` in this type's payloads.
    public var timestampUnit: TimestampUnit
    /// The sensors, in the order the profile lists them.
    public var sensors: [SensorProfile]
    /// The physics the simulator uses; nil for a device type it does not simulate.
    public var machine: MachineModel?
    /// The fault modes it can develop.
    public var faults: [FaultSpec]
    /// Hours a failed machine is down before the repair that makes it healthy again.
    public var repairHours: Double
    /// QoS its firmware publishes with.
    public var qos: Int32
    /// The feature windows the agent computes for it.
    public var features: [FeatureWindowSpec]

    public init(type: String, description: String? = nil, topics: [String],
                timestampUnit: TimestampUnit = .seconds, sensors: [SensorProfile],
                machine: MachineModel? = nil, faults: [FaultSpec] = [], repairHours: Double = 8, qos: Int32 = 1) {
        self.type = type
        self.description = description
        self.topics = topics
        self.timestampUnit = timestampUnit
        self.sensors = sensors
        self.machine = machine
        self.faults = faults
        self.repairHours = repairHours
        self.qos = qos
        features = []
    }

    /// The sensor named `name`, with its index in `sensors`.
    public func sensorIndex(named name: String) -> Int? {
        sensors.firstIndex { $0.name == name }
    }

    /// Reads a profile from its file's top-level object.
    init(_ reader: JSONObjectReader) throws(ConfigurationError) {
        type = try reader.string("type")
        description = try reader.optionalString("description")
        topics = try reader.optionalStrings("topics") ?? []
        timestampUnit = try reader.choice("timestamp_unit", default: .seconds)
        var sensors: [SensorProfile] = []
        for entry in try reader.objects("sensors") { sensors.append(try SensorProfile(entry)) }
        self.sensors = sensors
        machine = reader.value("machine") == nil ? nil : try MachineModel(reader.object("machine"))
        var faults: [FaultSpec] = []
        if reader.value("faults") != nil {
            for entry in try reader.objects("faults") { faults.append(try FaultSpec(entry)) }
        }
        self.faults = faults
        var features: [FeatureWindowSpec] = []
        if reader.value("features") != nil {
            for entry in try reader.objects("features") { features.append(try FeatureWindowSpec(entry, sensors: sensors, machine: machine)) }
        }
        self.features = features
        repairHours = try reader.optionalDouble("repair_hours") ?? 8
        let qos = try reader.optionalInteger("qos") ?? 1
        try reader.rejectUnknownFields()
        guard (0...2).contains(qos) else { throw reader.error("qos", "must be 0, 1 or 2, got \(qos)") }
        self.qos = Int32(qos)
        guard repairHours >= 0 else { throw reader.error("repair_hours", "must not be negative") }
        if machine == nil, let simulated = sensors.first(where: { $0.signal != nil }) {
            throw reader.error("machine", "sensor \"\(simulated.name)\" has a signal to simulate, which needs the machine's physics")
        }
        // A simulated sensor reports every interval_s of machine time: an event-time window must
        // hold enough of its readings for statistics to mean something.
        for (index, spec) in features.enumerated() {
            let sensor = sensors[spec.sensor]
            guard sensor.signal != nil, case .time(let seconds, _) = spec.window,
                  seconds / sensor.intervalSeconds < Double(Self.minimumSamplesPerWindow) else { continue }
            throw reader.error("features[\(index)].window",
                "a window of \(seconds) s holds \(Int(seconds / sensor.intervalSeconds)) readings of \(sensor.name) at its interval_s of "
                + "\(sensor.intervalSeconds) s; it needs at least \(Self.minimumSamplesPerWindow)")
        }

        guard TopicPattern.isPlainSegment(type) else {
            throw reader.error("type", "\"\(type)\" must be a non-empty name without '/', '+', '#', '{' or '}'")
        }
        var patterns: [TopicPattern] = []
        for (index, topic) in topics.enumerated() {
            do {
                patterns.append(try TopicPattern(topic))
            } catch {
                throw reader.error("topics[\(index)]", error.description)
            }
        }
        guard !sensors.isEmpty else { throw reader.error("sensors", "needs at least one sensor") }
        var seen = Set<String>()
        for sensor in sensors where !seen.insert(sensor.name).inserted {
            throw reader.error("sensors", "sensor \"\(sensor.name)\" is listed twice")
        }
        if patterns.contains(where: { !$0.hasSensor }), let block = sensors.first(where: { $0.kind == .block }) {
            throw reader.error("topics",
                "a topic without {sensor} carries single values only, but sensor \"\(block.name)\" is a block sensor")
        }
    }
}

extension DeviceProfile {
    /// Readings of a simulated sensor an event-time window must hold at least.
    public static let minimumSamplesPerWindow = 10

    /// Reads and validates one profile file.
    public static func load(file path: String) throws(ConfigurationError) -> DeviceProfile {
        try DeviceProfile(JSONObjectReader(file: path))
    }

    /// Reads every `*.json` in `folder`, in file-name order, and checks that no two profiles
    /// claim the same topics.
    public static func loadAll(folder: String) throws(ConfigurationError) -> [DeviceProfile] {
        let names = try FileSystem.list(folder).filter { $0.hasSuffix(".json") }
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
