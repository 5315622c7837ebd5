import VigilCore
import VigilSparkplug

/// The simulator's fleet as one Sparkplug B edge node (a gateway) of group `group`: its births,
/// its devices' births and data, with the node's 0-255 sequence number, and its death. Each
/// sensor's metric is the profile's `sparkplug_metric`, its alias the sensor's index plus one.
struct SparkplugEdgeNode {
    let group: String
    let node: String
    /// The birth-death sequence number, the same in the births and in the will's death.
    let bdSeq: UInt64 = 0
    private var seq: UInt64 = 0

    init(group: String, node: String) {
        self.group = group
        self.node = node
    }

    static func alias(_ sensor: Int) -> UInt64 { UInt64(sensor + 1) }

    /// The agent's name for a device of this node.
    func deviceName(_ device: String) -> String { "\(group):\(node):\(device)" }

    /// NBIRTH, which starts the sequence again at 0.
    mutating func birth(at milliseconds: UInt64) -> (topic: String, payload: [UInt8]) {
        seq = 0
        let payload = SparkplugPayload(timestamp: milliseconds, seq: 0, metrics: [
            SparkplugMetric(name: "bdSeq", timestamp: milliseconds, dataType: .int64, value: .long(bdSeq)),
            SparkplugMetric(name: SparkplugPayload.rebirthMetric, timestamp: milliseconds, dataType: .boolean, value: .boolean(false)),
        ])
        return (SparkplugTopic(group: group, type: .nodeBirth, node: node).description, payload.encoded())
    }

    /// The node's death, as its will and as it says when it stops.
    func death(at milliseconds: UInt64) -> (topic: String, payload: [UInt8]) {
        let payload = SparkplugPayload(timestamp: milliseconds, metrics: [
            SparkplugMetric(name: "bdSeq", timestamp: milliseconds, dataType: .int64, value: .long(bdSeq)),
        ])
        return (SparkplugTopic(group: group, type: .nodeDeath, node: node).description, payload.encoded())
    }

    /// DBIRTH of `device`: every simulated sensor's metric, its alias and type.
    mutating func birth(of device: String, profile: DeviceProfile, at milliseconds: UInt64) -> (topic: String, payload: [UInt8]) {
        let metrics = profile.sensors.indices.filter { profile.sensors[$0].signal != nil }.map { index in
            let sensor = profile.sensors[index]
            return sensor.kind == .block
                ? SparkplugMetric(name: sensor.sparkplugMetric, alias: Self.alias(index), timestamp: milliseconds, dataType: .floatArray,
                                  value: .bytes([]))
                : SparkplugMetric(name: sensor.sparkplugMetric, alias: Self.alias(index), timestamp: milliseconds, dataType: .double,
                                  isNull: true)
        }
        return message(.deviceBirth, device: device, at: milliseconds, metrics)
    }

    /// DDATA of `device`.
    mutating func data(of device: String, at milliseconds: UInt64, _ metrics: [SparkplugMetric]) -> (topic: String, payload: [UInt8]) {
        message(.deviceData, device: device, at: milliseconds, metrics)
    }

    /// A message lost on the way still took its sequence number.
    mutating func skip() { seq = (seq + 1) % 256 }

    private mutating func message(_ type: SparkplugTopic.MessageType, device: String, at milliseconds: UInt64,
                                  _ metrics: [SparkplugMetric]) -> (topic: String, payload: [UInt8]) {
        skip()
        let payload = SparkplugPayload(timestamp: milliseconds, seq: seq, metrics: metrics)
        return (SparkplugTopic(group: group, type: type, node: node, device: device).description, payload.encoded())
    }

    /// Whether a command payload asks this node for its births again.
    static func isRebirthRequest(_ payload: [UInt8]) -> Bool {
        guard let command = try? SparkplugPayload(decoding: payload) else { return false }
        return command.metrics.contains { $0.name == SparkplugPayload.rebirthMetric && $0.value == .boolean(true) }
    }
}
