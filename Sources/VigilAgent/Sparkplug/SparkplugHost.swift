import VigilCore
import VigilSparkplug

/// The agent as a Sparkplug B host application: follows each edge node's births, deaths and
/// sequence numbers, recognises a born device's type by its metric names (each profile sensor's
/// `sparkplug_metric`), and turns its data into readings. When it has lost track of a node (data
/// before its birth, an alias its birth did not declare, a gap in its sequence) it asks the node
/// for its births again with a rebirth request, at most every `rebirthInterval` seconds.
///
/// Devices are named `<group>:<edge node>:<device>`, and `<group>:<edge node>` when an edge node's
/// own metrics make it a device, so names are unique across a plant.
struct SparkplugHost {
    /// What one message did.
    enum Outcome: Equatable {
        /// Readings of `device` (in `readings` and `blocks`); `missed` messages of its edge node went
        /// missing just before it.
        case data(device: String, profile: Int, missed: Int64)
        /// A message seen already (its sequence number repeats the last one).
        case duplicate(device: String?)
        case born(device: String, profile: Int)
        /// These devices went offline (a device death, or their edge node's).
        case died([String])
        /// Nothing to store: a command, or a node's birth or data that concerns no device.
        case ignored
    }

    /// A single reading of a sensor (its profile index) at a time (Unix seconds).
    struct Reading: Equatable {
        var sensor: Int
        var timestamp: Double
        var value: Double
    }

    /// A sample block of a sensor, its samples a range of `samples`.
    struct Block: Equatable {
        var sensor: Int
        var timestamp: Double
        var samples: Range<Int>
    }

    /// A born device: its name, profile, and the sensor and declared type of each metric of its
    /// birth (sensor nil: a metric its profile does not use).
    private struct Birth {
        let device: String
        let profile: Int
        var byAlias: [UInt64: (sensor: Int?, type: SparkplugDataType)] = [:]
        var byName: [String: (sensor: Int?, type: SparkplugDataType)] = [:]
    }

    /// An edge node from its birth to its death.
    private struct Node {
        var bdSeq: UInt64?
        var seq: UInt64
        /// Born devices by device id; "" is the node itself when it is a device.
        var births: [String: Birth] = [:]
        /// Device ids whose birth matched no profile: their data is refused without rebirths.
        var unmatched: Set<String> = []
        /// Messages missing before the next data of a device, which carries the count.
        var missed: Int64 = 0
    }

    private let profiles: [DeviceProfile]
    private var nodes: [String: Node] = [:]
    /// When a rebirth was last requested of a node (`<group>/<node>`).
    private var rebirthRequested: [String: Double] = [:]
    /// NCMD topics to send a rebirth request to once the message's transaction commits.
    private(set) var rebirths: [String] = []
    private(set) var readings: [Reading] = []
    private(set) var blocks: [Block] = []
    private(set) var samples: [Double] = []

    /// Seconds between rebirth requests to one node.
    static let rebirthInterval = 5.0

    init(profiles: [DeviceProfile]) {
        self.profiles = profiles
    }

    /// The agent's name for a Sparkplug device (nil: the edge node itself).
    static func deviceName(group: String, node: String, device: String?) -> String {
        "\(group):\(node)" + (device.map { ":\($0)" } ?? "")
    }

    /// Handles one message on a Sparkplug topic received at `now` (Unix seconds); throws the
    /// reason it is refused. Rebirth requests it calls for are left in `rebirths`.
    mutating func handle(topic text: String, payload bytes: UnsafeRawBufferPointer, now: Double) throws(PayloadError) -> Outcome {
        rebirths.removeAll(keepingCapacity: true)
        readings.removeAll(keepingCapacity: true)
        blocks.removeAll(keepingCapacity: true)
        samples.removeAll(keepingCapacity: true)
        let topic = try SparkplugTopic(parsing: text)
        if topic.type == .nodeCommand || topic.type == .deviceCommand { return .ignored }
        let payload = try SparkplugPayload(decoding: bytes)
        let key = "\(topic.group)/\(topic.node)"
        let deviceKey = topic.device ?? ""
        switch topic.type {
        case .nodeBirth:
            var node = Node(bdSeq: payload.bdSeq, seq: payload.seq ?? 0)
            rebirthRequested[key] = nil
            let name = Self.deviceName(group: topic.group, node: topic.node, device: nil)
            let birth = try birth(of: name, payload.metrics, required: false)
            node.births[""] = birth
            nodes[key] = node
            return birth.map { .born(device: $0.device, profile: $0.profile) } ?? .ignored
        case .nodeDeath:
            // A death from an earlier connection (another bdSeq) says nothing of the current one.
            guard let node = nodes[key], payload.bdSeq == nil || node.bdSeq == nil || payload.bdSeq == node.bdSeq else { return .ignored }
            nodes[key] = nil
            return .died(node.births.values.map(\.device).sorted())
        default:
            break
        }
        guard var node = nodes[key] else {
            requestRebirth(topic, key: key, now: now)
            throw PayloadError(.noBirth, "\(topic.type.rawValue) from edge node \(topic.node) of group \(topic.group) before its NBIRTH: a rebirth is requested")
        }
        defer { nodes[key] = node }
        guard let seq = payload.seq else { throw PayloadError(.missingField, "\(topic.type.rawValue) without a seq") }
        guard seq < 256 else { throw PayloadError(.outOfRange, "seq \(seq) is over 255") }
        if seq == node.seq { return .duplicate(device: node.births[deviceKey]?.device) }
        let gap = Int64((seq + 255 - node.seq) % 256)
        node.seq = seq
        if gap > 0 {
            node.missed += gap
            requestRebirth(topic, key: key, now: now)
        }
        switch topic.type {
        case .deviceBirth:
            let name = Self.deviceName(group: topic.group, node: topic.node, device: topic.device)
            node.unmatched.remove(deviceKey)
            do {
                let birth = try birth(of: name, payload.metrics, required: true)!
                node.births[deviceKey] = birth
                return .born(device: name, profile: birth.profile)
            } catch {
                node.births[deviceKey] = nil
                node.unmatched.insert(deviceKey)
                throw error
            }
        case .deviceDeath:
            return node.births.removeValue(forKey: deviceKey).map { .died([$0.device]) } ?? .ignored
        default:
            guard let birth = node.births[deviceKey] else {
                if topic.type == .nodeData { return .ignored }
                if node.unmatched.contains(deviceKey) {
                    throw PayloadError(.unknownDevice, "device \(deviceKey) of edge node \(topic.node): its DBIRTH matched no device profile")
                }
                requestRebirth(topic, key: key, now: now)
                throw PayloadError(.noBirth, "DDATA from device \(deviceKey) of edge node \(topic.node) before its DBIRTH: a rebirth is requested")
            }
            do {
                try read(payload, birth: birth)
            } catch {
                if error.reason == .noBirth { requestRebirth(topic, key: key, now: now) }
                throw error
            }
            defer { node.missed = 0 }
            return .data(device: birth.device, profile: birth.profile, missed: node.missed)
        }
    }

    /// Reads a DATA payload's metrics into `readings` and `blocks`, checked against the profile.
    private mutating func read(_ payload: SparkplugPayload, birth: Birth) throws(PayloadError) {
        let profile = profiles[birth.profile]
        for metric in payload.metrics {
            let declared = metric.alias.flatMap { birth.byAlias[$0] } ?? metric.name.flatMap { birth.byName[$0] }
            guard let declared else {
                let which = metric.alias.map { "alias \($0)" } ?? metric.name.map { "'\($0)'" } ?? "without a name or alias"
                throw PayloadError(.noBirth, "metric \(which) was not in the birth of \(birth.device): a rebirth is requested")
            }
            guard let sensor = declared.sensor, !metric.isNull, let value = metric.value else { continue }
            let spec = profile.sensors[sensor]
            guard let milliseconds = metric.timestamp ?? payload.timestamp else {
                throw PayloadError(.missingField, "metric \(spec.sparkplugMetric) has no timestamp, nor has its payload")
            }
            let timestamp = Double(milliseconds) / 1000
            if spec.kind == .block {
                guard case .bytes(let raw) = value else {
                    throw PayloadError(.wrongType, "metric \(spec.sparkplugMetric): expected a numeric array for block sensor \(spec.name)")
                }
                let start = samples.count
                guard declared.type.samples(raw, into: &samples) else {
                    throw PayloadError(.wrongType, "metric \(spec.sparkplugMetric): \(raw.count) bytes are no whole \(declared.type) array")
                }
                guard samples.count > start else { throw PayloadError(.missingField, "metric \(spec.sparkplugMetric) is an empty array") }
                for sample in samples[start...] { try check(sample, spec) }
                blocks.append(Block(sensor: sensor, timestamp: timestamp, samples: start..<samples.count))
            } else {
                guard let number = declared.type.number(value) else {
                    throw PayloadError(.wrongType, "metric \(spec.sparkplugMetric): expected a \(declared.type) number for sensor \(spec.name)")
                }
                try check(number, spec)
                readings.append(Reading(sensor: sensor, timestamp: timestamp, value: number))
            }
        }
    }

    private func check(_ value: Double, _ spec: SensorProfile) throws(PayloadError) {
        guard value.isFinite else { throw PayloadError(.nonFinite, "metric \(spec.sparkplugMetric) is NaN or infinite") }
        guard value >= spec.min && value <= spec.max else {
            throw PayloadError(.outOfRange, "\(spec.name) = \(value) is outside [\(spec.min), \(spec.max)] \(spec.unit)")
        }
    }

    /// The device a birth's metrics describe: the profile all of whose sensors' metrics it names
    /// (the one with most sensors, if several), or nil (`required`: an error naming the closest).
    private func birth(of device: String, _ metrics: [SparkplugMetric], required: Bool) throws(PayloadError) -> Birth? {
        var declared: [String: SparkplugDataType] = [:]
        for metric in metrics {
            guard let name = metric.name, let type = metric.dataType else { continue }
            declared[name] = type
        }
        // Per profile, how many of its sensors' metrics the birth names; a match names them all.
        let candidates = profiles.indices.map { index in
            (profile: index, named: profiles[index].sensors.count { declared[$0.sparkplugMetric] != nil })
        }
        let matches = candidates.filter { $0.named == profiles[$0.profile].sensors.count }
        let most = matches.map(\.named).max()
        let best = matches.filter { $0.named == most }
        guard best.count == 1 else {
            guard required else { return nil }
            if best.count > 1 {
                throw PayloadError(.unknownDevice, "the birth of \(device) matches the profiles \(best.map { profiles[$0.profile].type }.joined(separator: " and ")) alike")
            }
            guard let closest = candidates.max(by: { $0.named < $1.named }), closest.named > 0 else {
                throw PayloadError(.unknownDevice, "the birth of \(device) names no sensor of any device profile (its metrics: \(declared.keys.sorted().joined(separator: ", "))): a profile's sensors name theirs in sparkplug_metric")
            }
            let lacking = profiles[closest.profile].sensors.map(\.sparkplugMetric).filter { declared[$0] == nil }
            throw PayloadError(.unknownDevice, "the birth of \(device) matches no device profile: the closest, \(profiles[closest.profile].type), needs metrics \(lacking.joined(separator: ", "))")
        }
        let profile = best[0].profile
        var birth = Birth(device: device, profile: profile)
        for metric in metrics {
            guard let name = metric.name, let type = metric.dataType else { continue }
            let sensor = profiles[profile].sensors.firstIndex { $0.sparkplugMetric == name }
            if let sensor {
                let spec = profiles[profile].sensors[sensor]
                guard spec.kind == .block ? type.arrayElementSize != nil : type.isNumber else {
                    throw PayloadError(.wrongType, "the birth of \(device) declares \(name) a \(type), but sensor \(spec.name) takes \(spec.kind == .block ? "a numeric array" : "numbers")")
                }
            }
            birth.byName[name] = (sensor, type)
            if let alias = metric.alias { birth.byAlias[alias] = (sensor, type) }
        }
        return birth
    }

    private mutating func requestRebirth(_ topic: SparkplugTopic, key: String, now: Double) {
        guard now >= (rebirthRequested[key] ?? -.infinity) + Self.rebirthInterval else { return }
        rebirthRequested[key] = now
        rebirths.append(SparkplugTopic(group: topic.group, type: .nodeCommand, node: topic.node).description)
    }
}
