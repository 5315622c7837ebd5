import ArgumentParser
import Logging
import VigilObservability
import VigilCore
import VigilMQTT

/// The `vigil-sim` command line. Unknown flags and bad values are refused with exit status 64;
/// a failure exits 1.
public struct SimulatorCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vigil-sim",
        abstract: "A fleet of simulated machines and their firmware, publishing sensor streams over MQTT as real devices would.",
        discussion: """
            Bearing and shaft physics, run to failure, sensor faults, sequence numbers, outages with replay, \
            malformed payloads on request, and maintenance events (a confirmed fault at each failure, a repair \
            after it) to <maintenance-topic>/<device>: {"device", "type", "kind": "fault" | "repair", "mode", \
            "ts", "source": "vigil-sim"}. Deterministic for a seed.
            """)

    @Option(help: "Device profiles to simulate.")
    var devices = "devices"
    @Option(help: "Devices in the fleet, spread over the profiles.")
    var count = 10
    @Option(help: "Only these device types, comma-separated.")
    var types: String?
    @Option(help: "Broker to publish to.")
    var broker = "mqtt://127.0.0.1:1883"
    @Option(help: "MQTT client id.")
    var clientId = "vigil-sim"
    @Option(help: "Random seed; the same seed gives the same run.")
    var seed: UInt64 = 1
    @Option(help: "Seconds to run at --speedup: the run covers duration x speedup seconds of machine time.")
    var duration = 60.0
    @Option(help: "Machine seconds per wall second: 3600 ages machines an hour a second. Devices report at their profiles' machine-time intervals, so the data are the same at any speedup.")
    var speedup = 1.0
    @Option(help: "Device time at the start, Unix seconds (default: now).")
    var start: Double?
    @Flag(help: "Publish the same machine time as fast as the broker takes it, and report the rate.")
    var fast = false
    @Option(help: "Share of payloads sent malformed: truncated, wrong type, NaN, oversized.")
    var malformedRate = 0.0
    @Option(help: "Share of devices with a stuck, spiking, dropping, drifting or skewed sensor.")
    var sensorFaults = 0.1
    @Option(help: "Only these fault modes develop, comma-separated (outer_race, inner_race, ball, imbalance, misalignment); profiles left with none are not simulated.")
    var modes: String?
    @Option(help: "How much machines of one type differ: 0 identical, 1 as in a plant (bearing impacts and noise x0.5 to x2, resonance x0.5 to x2, sensor gain +-25%, operating point +-5%).")
    var machineSpread = 1.0
    @Option(help: "Every so many wall seconds the devices' links go down ...")
    var outageEvery = 0.0
    @Option(help: "... for this long; they buffer, then replay with duplicates and out-of-order messages.")
    var outageSeconds = 2.0
    @Option(help: "Speak Sparkplug B in this group instead of the profiles' JSON: the fleet is one edge node named by --client-id, each machine a device of it, named <group>:<client-id>:<device> in the agent and in maintenance events.")
    var sparkplug: String?
    @Option(help: "Maintenance events go to <prefix>/<device>.")
    var maintenanceTopic = "vigil/maintenance"
    @Option(help: "Write \"topic<TAB>payload\" lines to this file instead of publishing.")
    var dump: String?
    @Option(help: "Write every device's lives (onset, failure, mode) as JSON to this file.")
    var groundTruth: String?

    public init() {}

    public func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be 1 to 1000000, got \(count)") }
        guard duration > 0 else { throw ValidationError("--duration must be positive seconds, got \(duration)") }
        guard speedup > 0 else { throw ValidationError("--speedup must be positive, got \(speedup)") }
        if let start, start < 1 { throw ValidationError("--start must be Unix seconds, got \(start)") }
        guard (0...1).contains(malformedRate) else { throw ValidationError("--malformed-rate must be 0 to 1, got \(malformedRate)") }
        guard (0...1).contains(sensorFaults) else { throw ValidationError("--sensor-faults must be 0 to 1, got \(sensorFaults)") }
        for mode in modes?.split(separator: ",") ?? [] where FaultMode(rawValue: String(mode)) == nil {
            throw ValidationError("--modes: no fault mode \"\(mode)\" (known: \(FaultMode.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard (0...1).contains(machineSpread) else { throw ValidationError("--machine-spread must be 0 to 1, got \(machineSpread)") }
        guard outageEvery >= 0, outageSeconds >= 0 else { throw ValidationError("--outage-every and --outage-seconds must be seconds") }
        for (flag, name) in [("--sparkplug", sparkplug), ("--client-id", sparkplug == nil ? nil : clientId)]
        where name.map({ !TopicPattern.isPlainSegment($0) }) ?? false {
            throw ValidationError("\(flag): \"\(name!)\" must be a non-empty name without '/', '+', '#', '{' or '}'")
        }
        do {
            _ = try BrokerURL(parsing: broker)
        } catch {
            throw ValidationError("--broker: \(error)")
        }
    }

    public func run() throws {
        var options = SimulatorOptions()
        options.devices = devices
        options.count = count
        options.types = types.map { $0.split(separator: ",").map(String.init) } ?? []
        options.broker = broker
        options.clientID = clientId
        options.seed = seed
        options.duration = duration
        options.speedup = speedup
        options.start = start
        options.asFastAsPossible = fast
        options.malformedRate = malformedRate
        options.sensorFaultShare = sensorFaults
        options.machineSpread = machineSpread
        options.modes = Set(modes?.split(separator: ",").compactMap { FaultMode(rawValue: String($0)) } ?? [])
        options.outageEvery = outageEvery
        options.outageSeconds = outageSeconds
        options.maintenanceTopicPrefix = maintenanceTopic
        options.sparkplugGroup = sparkplug
        options.dump = dump
        options.groundTruth = groundTruth
        let profiles = try DeviceProfile.loadAll(folder: devices)
        let simulator = try FleetSimulator(options: options, profiles: profiles)
        let sink: MessageSink = if let dump {
            try DumpSink(path: dump)
        } else {
            // Connection failures, as key=value lines on standard error; the summary goes to stdout.
            try BrokerSink(url: BrokerURL(parsing: broker), clientID: clientId,
                           sparkplug: sparkplug.flatMap { group in simulator.sparkplugDeath.map { (group, $0) } },
                           logger: Logger(label: "vigil-sim", factory: { KeyValueLogHandler(label: $0, level: .warning) }))
        }
        let report = try simulator.run(into: sink)
        if let groundTruth {
            try FileSystem.writeAtomically(Array((simulator.groundTruth().serialized() + "\n").utf8), to: groundTruth)
        }
        let rate = Double(report.messages) / max(report.wallSeconds, 1e-9)
        print("""
            vigil-sim: \(report.messages) messages (\(report.samples) samples) from \(count) devices, \
            \((report.machineSeconds / 864).rounded() / 100) days of machine time in \
            \((report.wallSeconds * 10).rounded() / 10) s, \(Int(rate)) msgs/s; \
            \(report.maintenanceEvents) maintenance events, \(report.malformed) malformed, \(report.dropped) dropped, \
            \(report.replayed) replayed after outages, \(report.duplicates) duplicates\
            \(sparkplug == nil ? "" : "; \(report.unseenGaps) lost or unreadable right before a birth or the death, gaps no host sees")
            """)
        // Paced runs that fell behind say so: the data are all there, but later than the speedup asked.
        if report.behindSeconds > 1 {
            StandardError.write("vigil-sim: fell up to \((report.behindSeconds * 10).rounded() / 10) s behind the wall-clock schedule "
                                + "of --speedup \(speedup): the simulator or the broker cannot keep up; lower --speedup or --count\n")
        }
    }
}
