import VigilCore
import VigilSparkplug
#if canImport(Glibc)
import Glibc
#endif

/// One simulated device: its machine's lives (healthy, degrading, failed, repaired), its
/// firmware's sequence counter, and the payloads it sends, as its profile describes them.
final class SimulatedDevice {
    /// One stream of messages: one sensor per topic, or all value sensors on a topic without
    /// `{sensor}`.
    struct Stream {
        let topic: String
        let sensors: [Int]
        let interval: Double
    }

    let name: String
    let profile: DeviceProfile
    let streams: [Stream]
    let sensorFault: SensorFault?
    let variation: MachineVariation
    /// The sensor a `stuck` or `drift` fault affects: the first simulated value sensor.
    private let faultySensor: Int?
    private(set) var random: SeededRandom
    /// Every life so far, the current one last.
    private(set) var lives: [MachineLife]
    /// Whether the machine has failed and awaits repair.
    private(set) var down = false
    private(set) var sequence: Int64 = 0
    private var synthesizers: [Int: VibrationSynthesizer] = [:]
    private var stuckValue: Double?
    private var samples: [Double] = []
    private var values: [Double] = []

    init(name: String, profile: DeviceProfile, seed: UInt64, stream: UInt64, sensorFault: SensorFault?, spread: Double) {
        self.name = name
        self.profile = profile
        self.sensorFault = sensorFault
        random = SeededRandom(seed: seed, stream: stream)
        variation = MachineVariation.draw(spread: spread, random: &random)
        // Devices join the run part-way through their first life, so a fleet holds every stage.
        var first = MachineLife.draw(from: profile.faults, startingAt: 0, random: &random)
        let shift = (first.failsAt - first.installedAt) * random.uniform(0...0.9)
        first.installedAt -= shift
        first.onsetAt -= shift
        first.failsAt -= shift
        lives = [first]
        let pattern = try! TopicPattern(profile.topics[0])
        func topic(_ sensor: String?) -> String {
            pattern.segments.map { segment -> String in
                switch segment {
                case .literal(let bytes): String(decoding: bytes, as: UTF8.self)
                case .device: name
                case .sensor: sensor ?? ""
                }
            }.joined(separator: "/")
        }
        let simulated = profile.sensors.indices.filter { profile.sensors[$0].signal != nil }
        if pattern.hasSensor {
            streams = simulated.map { Stream(topic: topic(profile.sensors[$0].name), sensors: [$0],
                                             interval: profile.sensors[$0].intervalSeconds) }
        } else {
            streams = [Stream(topic: topic(nil), sensors: simulated,
                              interval: simulated.map { profile.sensors[$0].intervalSeconds }.min() ?? 1)]
        }
        faultySensor = simulated.first { profile.sensors[$0].kind == .value }
        for index in simulated where profile.sensors[index].kind == .block {
            let rate = profile.sensors[index].rateHz!
            synthesizers[index] = VibrationSynthesizer(machine: variation.applied(to: profile.machine!, rateHz: rate), rateHz: rate,
                                                       impact: variation.impact)
        }
    }

    var life: MachineLife { lives[lives.count - 1] }

    /// The machine fails: it stops sending until repaired.
    func fail() { down = true }

    /// The machine is repaired at `time` and starts a new, healthy life.
    func repair(at time: Double) {
        down = false
        lives.append(MachineLife.draw(from: profile.faults, startingAt: time, random: &random))
    }

    /// The next sequence number; firmware counts every message it means to send.
    func nextSequence() -> Int64 {
        defer { sequence += 1 }
        return sequence
    }

    /// Samples in one message of `stream`: a block's, or one per sensor.
    func samplesPerMessage(_ stream: Int) -> Int {
        let sensors = streams[stream].sensors
        return sensors.count == 1 && profile.sensors[sensors[0]].kind == .block ? profile.sensors[sensors[0]].blockSamples : sensors.count
    }

    /// Whether this message is lost on the way (the `dropouts` fault).
    func dropsMessage() -> Bool { sensorFault == .dropouts && random.uniform() < 0.02 }

    /// Writes the JSON payload of `stream` at simulated `time` (seconds since the run's start) for
    /// a run that began at Unix time `start`.
    func payload(stream index: Int, time: Double, start: Double, sequence: Int64, into writer: inout PayloadWriter) {
        let stream = streams[index]
        let deviceTime = measure(stream: index, time: time, start: start)
        writer.begin()
        writer.field("seq", integer: sequence)
        switch profile.timestampUnit {
        case .seconds: writer.field("ts", deviceTime, decimals: 3)
        case .milliseconds: writer.field("ts", integer: Int64((deviceTime * 1e3).rounded()))
        case .microseconds: writer.field("ts", integer: Int64((deviceTime * 1e6).rounded()))
        case .nanoseconds: writer.field("ts", integer: Int64((deviceTime * 1e9).rounded()))
        }
        if isBlock(stream) {
            writer.field("rate_hz", profile.sensors[stream.sensors[0]].rateHz!, decimals: 3)
            writer.field("values", samples: samples, decimals: 5)
        } else if stream.sensors.count == 1 {
            writer.field("value", values[0], decimals: 3)
        } else {
            for (sensor, value) in zip(stream.sensors, values) {
                writer.field(profile.sensors[sensor].name, value, decimals: 3)
            }
        }
        writer.end()
    }

    /// The Sparkplug B metrics of `stream` at simulated `time`: by alias (`SparkplugEdgeNode`),
    /// a block as a float array.
    func sparkplugMetrics(stream index: Int, time: Double, start: Double) -> [SparkplugMetric] {
        let stream = streams[index]
        let milliseconds = UInt64((measure(stream: index, time: time, start: start) * 1e3).rounded())
        if isBlock(stream) {
            return [SparkplugMetric(alias: SparkplugEdgeNode.alias(stream.sensors[0]), timestamp: milliseconds, value: .floatArray(samples))]
        }
        return zip(stream.sensors, values).map { sensor, value in
            SparkplugMetric(alias: SparkplugEdgeNode.alias(sensor), timestamp: milliseconds, value: .double((value * 1e3).rounded() / 1e3))
        }
    }

    private func isBlock(_ stream: Stream) -> Bool { stream.sensors.count == 1 && synthesizers[stream.sensors[0]] != nil }

    /// Takes the readings of `stream` at `time` into `samples` (a block) or `values` (one per
    /// sensor); returns the device's timestamp for them, Unix seconds by its own clock.
    private func measure(stream index: Int, time: Double, start: Double) -> Double {
        let stream = streams[index]
        let health = life.health(at: time)
        var deviceTime = start + time
        if sensorFault == .clockSkew { deviceTime += 90 + time / 3600 }
        values.removeAll(keepingCapacity: true)
        if isBlock(stream) {
            let sensor = profile.sensors[stream.sensors[0]]
            synthesizers[stream.sensors[0]]!.block(count: sensor.blockSamples, mode: life.mode, health: health, random: &random, into: &samples)
            for offset in samples.indices { samples[offset] = min(sensor.max, max(sensor.min, variation.gain * samples[offset])) }
        } else {
            for sensor in stream.sensors { values.append(value(sensor, time: time, health: health)) }
        }
        return deviceTime
    }

    /// A value sensor's reading: its operating point, moved by damage, plus noise and faults.
    private func value(_ index: Int, time: Double, health: Double) -> Double {
        let sensor = profile.sensors[index]
        let machine = profile.machine!
        let signal = sensor.signal!
        let base = (machine.operatingPoint[signal] ?? (sensor.min + sensor.max) / 2) * variation.operatingPoint
        var reading = signal.reading(base: base, health: health, mode: life.mode, machine: machine, variation: variation, random: &random)
        if index == faultySensor {
            switch sensorFault {
            case .stuck where time > life.installedAt + 1:
                if stuckValue == nil { stuckValue = reading }
                reading = stuckValue!
            case .drift: reading *= 1 + 0.02 * time / 86_400
            default: break
            }
        }
        if sensorFault == .spikes && random.uniform() < 0.02 { reading *= 5 }
        return min(sensor.max, max(sensor.min, reading))
    }
}
