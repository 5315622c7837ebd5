import VigilCore
import VigilSparkplug
#if canImport(Glibc)
import Glibc
#endif

/// A fleet of simulated devices in one process: each device's machine lives and fails on its
/// own schedule, its firmware sends what its profile says at the profile's intervals, and a
/// technician's maintenance events (a confirmed fault, then a repair) mark every failure.
///
/// Time: everything happens in machine time (reports at the profile's intervals, failures,
/// repairs, each report's `ts`), and `speedup` only sets how fast machine time passes against
/// the wall clock, so a faster run sends the same data sooner, never thinner. When publishing
/// falls behind that schedule (the simulator or the broker cannot keep up), the report says by
/// how much. A run is the same for the same seed and options.
public final class FleetSimulator {
    /// What a run did.
    public struct Report: Sendable {
        public var messages = 0
        public var samples = 0
        /// Malformed messages sent (those lost from a full outage buffer are not).
        public var malformed = 0
        /// Messages lost on the way (the `dropouts` fault, or the oldest of a full outage
        /// buffer): sequence gaps the agent should count.
        public var dropped = 0
        /// Speaking Sparkplug B: messages lost, or sent with no readable sequence number, right
        /// before a birth or the death, which start the node's sequence again: no host sees
        /// their gap.
        public var unseenGaps = 0
        /// Messages buffered during outages and replayed afterwards.
        public var replayed = 0
        /// Messages sent twice after an outage, as firmware that resends unacknowledged ones does.
        public var duplicates = 0
        public var maintenanceEvents = 0
        public var wallSeconds = 0.0
        /// Machine seconds the run covered.
        public var machineSeconds = 0.0
        /// The furthest publishing fell behind its wall-clock schedule, in seconds (paced runs).
        public var behindSeconds = 0.0
    }

    private enum Event {
        case stream(device: Int, stream: Int)
        case failure(device: Int)
        case repair(device: Int)
    }

    private struct Pending {
        var topic: String
        var payload: [UInt8]
        var qos: Int32
        var malformed: Bool
    }

    public let options: SimulatorOptions
    /// The run's start in Unix seconds of device time.
    public let start: Double
    private let devices: [SimulatedDevice]
    private var random: SeededRandom
    private var outageBuffers: [[Pending]]
    private var recentlySent: [[Pending]]
    /// Speaking Sparkplug B: the fleet's edge node.
    private var sparkplug: SparkplugEdgeNode?

    /// Builds the fleet from the simulated profiles among `profiles`.
    public init(options: SimulatorOptions, profiles: [DeviceProfile]) throws {
        self.options = options
        start = options.start ?? WallClock.now().rounded(.down)
        let simulated = profiles.map { profile in
            var kept = profile
            if !options.modes.isEmpty { kept.faults = profile.faults.filter { options.modes.contains($0.mode) } }
            return kept
        }.filter { $0.machine != nil && !$0.faults.isEmpty && (options.types.isEmpty || options.types.contains($0.type)) }
        guard !simulated.isEmpty else {
            throw SimulatorError("no device profile to simulate: a profile needs \"machine\" and \"faults\"\(options.types.isEmpty ? "" : " and a type among \(options.types)")\(options.modes.isEmpty ? "" : " with a fault mode among \(options.modes.map(\.rawValue).sorted())")")
        }
        guard options.count >= 1 else { throw SimulatorError("--count must be at least 1") }
        if let group = options.sparkplugGroup {
            guard options.outageEvery == 0 else {
                throw SimulatorError("a Sparkplug edge node does not replay after outages: --outage-every needs JSON devices")
            }
            sparkplug = SparkplugEdgeNode(group: group, node: options.clientID)
        } else if let silent = simulated.first(where: { $0.topics.isEmpty }) {
            throw SimulatorError("device type \(silent.type) has no topics: simulate it with --sparkplug")
        }
        random = SeededRandom(seed: options.seed, stream: UInt64.max)
        var devices: [SimulatedDevice] = []
        for index in 0..<options.count {
            let profile = simulated[index % simulated.count]
            let short = profile.type.split(separator: "-").last.map(String.init) ?? profile.type
            var faultDraw = SeededRandom(seed: options.seed, stream: UInt64(index) << 32)
            let fault = faultDraw.uniform() < options.sensorFaultShare
                ? SensorFault.allCases[Int(faultDraw.next() % UInt64(SensorFault.allCases.count))] : nil
            devices.append(SimulatedDevice(name: "\(short)-\(String(index + 1, zeroPaddedTo: 4))", profile: profile,
                                           seed: options.seed, stream: UInt64(index), sensorFault: fault,
                                           spread: options.machineSpread))
        }
        self.devices = devices
        outageBuffers = Array(repeating: [], count: devices.count)
        recentlySent = Array(repeating: [], count: devices.count)
    }

    /// Runs `options.duration` wall seconds' worth of machine time (`duration * speedup`), paced
    /// to the wall clock unless dumping or going as fast as possible, and sends everything to `sink`.
    public func run(into sink: MessageSink) throws -> Report {
        var report = Report()
        var queue = EventQueue<Event>()
        for (index, device) in devices.enumerated() {
            for (stream, spec) in device.streams.enumerated() {
                // Stagger devices over their interval, as a real fleet is never in step.
                queue.push(.stream(device: index, stream: stream), at: spec.interval * Double(index % 97) / 97)
            }
            queue.push(.failure(device: index), at: max(0, device.life.failsAt))
        }
        if sparkplug != nil { try sendBirths(at: 0, sink: sink) }
        let paced = options.dump == nil && !options.asFastAsPossible
        let end = options.duration * options.speedup
        let wallStart = MonotonicClock.now()
        var writer = PayloadWriter()
        /// Messages lost or unreadable since the last one whose sequence number a host could read.
        var unseen = 0
        while let time = queue.nextTime, time <= end, let (_, event) = queue.pop() {
            let wallTime = time / options.speedup
            if paced {
                let wait = wallStart + wallTime - MonotonicClock.now()
                if wait > 0.0005 {
                    usleep(UInt32(wait * 1e6))
                } else {
                    report.behindSeconds = max(report.behindSeconds, -wait)
                }
            }
            if sparkplug != nil, sink.commands().contains(where: { SparkplugEdgeNode.isRebirthRequest($0.payload) }) {
                report.unseenGaps += unseen
                unseen = 0
                try sendBirths(at: time, sink: sink)
            }
            switch event {
            case .stream(let index, let stream):
                let device = devices[index]
                queue.push(.stream(device: index, stream: stream), at: time + device.streams[stream].interval)
                guard !device.down else { continue }
                let sequence = device.nextSequence()
                if device.dropsMessage() {
                    sparkplug?.skip()
                    report.dropped += 1
                    unseen += 1
                    continue
                }
                let topic: String
                var payload: [UInt8]
                if var node = sparkplug {
                    let metrics = device.sparkplugMetrics(stream: stream, time: time, start: start)
                    (topic, payload) = node.data(of: device.name, at: Self.milliseconds(start + time), metrics)
                    sparkplug = node
                } else {
                    device.payload(stream: stream, time: time, start: start, sequence: sequence, into: &writer)
                    (topic, payload) = (device.streams[stream].topic, writer.bytes)
                }
                let isMalformed = options.malformedRate > 0 && random.uniform() < options.malformedRate
                if isMalformed { payload = malformed(payload) }
                // A host reads no sequence number from a Sparkplug payload cut short.
                let readable = !isMalformed || sparkplug == nil || (try? SparkplugPayload(decoding: payload)) != nil
                unseen = readable ? 0 : unseen + 1
                // Sparkplug data go at QoS 0, as its births do: at mixed QoS levels the client could
                // send a birth ahead of data still waiting for their turn in flight.
                let message = Pending(topic: topic, payload: payload, qos: sparkplug == nil ? device.profile.qos : 0, malformed: isMalformed)
                try deliver(message, from: index, at: wallTime, sink: sink, report: &report)
                report.samples += device.samplesPerMessage(stream)
            case .failure(let index):
                let device = devices[index]
                device.fail()
                try sendEvent("fault", device: device, at: device.life.failsAt, sink: sink)
                report.maintenanceEvents += 1
                queue.push(.repair(device: index), at: device.life.failsAt + device.profile.repairHours * 3600)
            case .repair(let index):
                let device = devices[index]
                try sendEvent("repair", device: device, at: time, sink: sink)
                device.repair(at: time)
                report.maintenanceEvents += 1
                queue.push(.failure(device: index), at: device.life.failsAt)
            }
        }
        for index in devices.indices { try replay(index, sink: sink, report: &report) }
        if let death = sparkplug?.death(at: Self.milliseconds(start + end)) {
            report.unseenGaps += unseen
            try sink.send(topic: death.topic, payload: death.payload, qos: 1, retain: false)
        }
        try sink.finish()
        report.wallSeconds = MonotonicClock.now() - wallStart
        report.machineSeconds = end
        return report
    }

    // MARK: Firmware behaviour

    private func inOutage(_ time: Double) -> Bool {
        options.outageEvery > 0 && time >= options.outageEvery
            && time.truncatingRemainder(dividingBy: options.outageEvery) < options.outageSeconds
    }

    /// Sends a message, or buffers it while the link is down (a full buffer loses its oldest);
    /// the first message after an outage replays the buffer first.
    private func deliver(_ message: Pending, from index: Int, at time: Double, sink: MessageSink, report: inout Report) throws {
        if inOutage(time) {
            if outageBuffers[index].count >= 5_000 {
                outageBuffers[index].removeFirst()
                report.dropped += 1
            }
            outageBuffers[index].append(message)
            return
        }
        try replay(index, sink: sink, report: &report)
        try sink.send(topic: message.topic, payload: message.payload, qos: message.qos, retain: false)
        report.messages += 1
        if message.malformed { report.malformed += 1 }
        recentlySent[index].append(message)
        if recentlySent[index].count > 3 { recentlySent[index].removeFirst() }
    }

    /// After an outage: the last messages sent before it again (their acknowledgements were
    /// lost with the link), then the buffer, with neighbours now and then swapped.
    private func replay(_ index: Int, sink: MessageSink, report: inout Report) throws {
        guard !outageBuffers[index].isEmpty else { return }
        for message in recentlySent[index] {
            try sink.send(topic: message.topic, payload: message.payload, qos: message.qos, retain: false)
            report.duplicates += 1
        }
        var buffered = outageBuffers[index]
        outageBuffers[index].removeAll()
        for position in stride(from: 1, to: buffered.count, by: 7) { buffered.swapAt(position - 1, position) }
        for message in buffered {
            try sink.send(topic: message.topic, payload: message.payload, qos: message.qos, retain: false)
            report.messages += 1
            report.replayed += 1
            if message.malformed { report.malformed += 1 }
        }
        recentlySent[index] = Array(buffered.suffix(3))
    }

    /// The edge node's birth and its devices', at the start and when a host asks for them.
    private func sendBirths(at time: Double, sink: MessageSink) throws {
        guard var node = sparkplug else { return }
        let milliseconds = Self.milliseconds(start + time)
        let birth = node.birth(at: milliseconds)
        try sink.send(topic: birth.topic, payload: birth.payload, qos: 0, retain: false)
        for device in devices {
            let message = node.birth(of: device.name, profile: device.profile, at: milliseconds)
            try sink.send(topic: message.topic, payload: message.payload, qos: 0, retain: false)
        }
        sparkplug = node
    }

    private static func milliseconds(_ seconds: Double) -> UInt64 { UInt64((seconds * 1e3).rounded()) }

    /// Speaking Sparkplug B: the edge node's death, which its connection leaves as its will.
    public var sparkplugDeath: (topic: String, payload: [UInt8])? { sparkplug?.death(at: Self.milliseconds(start)) }

    /// The name the agent knows a device by: its own, or under its Sparkplug edge node.
    private func agentName(_ device: SimulatedDevice) -> String { sparkplug?.deviceName(device.name) ?? device.name }

    /// One of the ways firmware gets a payload wrong.
    private func malformed(_ payload: [UInt8]) -> [UInt8] {
        if sparkplug != nil {
            // Cut short inside its first metric (the timestamp and the metric's tag and length
            // take at most 11 bytes, a metric at least 18), or a reading that is not a number.
            guard random.next() % 2 == 0, var message = try? SparkplugPayload(decoding: payload), !message.metrics.isEmpty else {
                return Array(payload.prefix(12))
            }
            message.metrics[0].value = if case .bytes = message.metrics[0].value { .floatArray([.nan]) } else { .double(.nan) }
            return message.encoded()
        }
        switch random.next() % 4 {
        case 0: return Array(payload.prefix(max(1, payload.count / 2)))
        case 1: return Array(#"{"seq": "#.utf8) + Array("\"seven\"".utf8) + Array(#", "ts": 1, "value": 1}"#.utf8)
        case 2: return Array(#"{"seq": 1, "ts": 1750000000, "value": NaN}"#.utf8)
        default: return payload.dropLast() + Array(#","padding":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 300 << 10) + Array("\"}".utf8)
        }
    }

    private func sendEvent(_ kind: String, device: SimulatedDevice, at time: Double, sink: MessageSink) throws {
        let event: JSONValue = [
            "device": .string(agentName(device)), "type": .string(device.profile.type), "kind": .string(kind),
            "mode": .string(device.life.mode.rawValue), "ts": .number(((start + time) * 1000).rounded() / 1000),
            "source": "vigil-sim",
        ]
        try sink.send(topic: "\(options.maintenanceTopicPrefix)/\(agentName(device))", payload: Array(event.serialized(indent: 0).utf8),
                      qos: 1, retain: false)
    }

    // MARK: Ground truth

    /// Every device's lives so far (installation, onset, failure in Unix seconds; the fault
    /// mode) and sensor fault: what an evaluation compares predictions with.
    public func groundTruth() -> JSONValue {
        .object([
            ("seed", .number(Double(options.seed))), ("start", .number(start)), ("speedup", .number(options.speedup)),
            ("devices", .array(devices.map { device in
                .object([
                    ("device", .string(agentName(device))), ("type", .string(device.profile.type)),
                    ("sensor_fault", device.sensorFault.map { .string($0.rawValue) } ?? .null),
                    ("variation", device.variation.json),
                    ("lives", .array(device.lives.map { life in
                        .object([("mode", .string(life.mode.rawValue)), ("installed", .number(start + life.installedAt)),
                                 ("onset", .number(start + life.onsetAt)), ("failure", .number(start + life.failsAt))])
                    })),
                ])
            })),
        ])
    }
}
