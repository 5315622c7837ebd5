#if canImport(Glibc)
import Glibc
#endif
import VigilCore
import VigilMQTT

/// The `vigil-sim` command line.
public enum SimulatorCommandLine {
    static let usage = """
        vigil-sim: a fleet of simulated machines and their firmware, publishing sensor streams over
        MQTT as real devices would: bearing and shaft physics, run to failure, sensor faults,
        sequence numbers, outages with replay, malformed payloads on request, and maintenance
        events (a confirmed fault at each failure, a repair after it). Deterministic for a seed.

        USAGE
          vigil-sim [OPTIONS]

        OPTIONS
          --devices DIR          device profiles to simulate (default: devices)
          --count N              devices in the fleet, spread over the profiles (default: 10)
          --types T1,T2          only these device types
          --broker URL           broker to publish to (default: mqtt://127.0.0.1:1883)
          --client-id ID         MQTT client id (default: vigil-sim)
          --seed N               random seed; the same seed gives the same run (default: 1)
          --duration SECONDS     wall-clock seconds to run (default: 60)
          --speedup X            machine seconds per wall second: 3600 ages machines an hour a
                                 second, so lives of weeks fail within minutes (default: 1)
          --start UNIX_SECONDS   device time at the start (default: now)
          --fast                 publish as fast as the broker takes it, and report the rate
          --malformed-rate R     share of payloads sent malformed: truncated, wrong type, NaN,
                                 oversized (default: 0)
          --sensor-faults R      share of devices with a stuck, spiking, dropping, drifting or
                                 skewed sensor (default: 0.1)
          --outage-every S       every S wall seconds the devices' links go down for
          --outage-seconds S     this long (default: 2); they buffer, then replay with some
                                 duplicates and out-of-order messages
          --maintenance-topic P  maintenance events go to P/<device> (default: vigil/maintenance)
          --dump FILE            write "topic<TAB>payload" lines instead of publishing
          --ground-truth FILE    write every device's lives (onset, failure, mode) as JSON
          -h, --help             this text

        MAINTENANCE EVENTS
          {"device": "motor-0001", "type": "induction-motor", "kind": "fault" | "repair",
           "mode": "outer_race", "ts": 1750000000.0, "source": "vigil-sim"}
        """

    /// Runs with `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        var options = SimulatorOptions()
        var rest = arguments[...]
        func fail(_ message: String, _ status: Int32 = 2) -> Int32 {
            StandardError.write("vigil-sim: \(message)\n")
            return status
        }
        while let flag = rest.popFirst() {
            if flag == "-h" || flag == "--help" {
                print(usage)
                return 0
            }
            if flag == "--fast" {
                options.asFastAsPossible = true
                continue
            }
            guard let value = rest.popFirst() else { return fail("\(flag) needs a value (see --help)") }
            func number(_ range: ClosedRange<Double>) -> Double? {
                guard let number = Double(value), range.contains(number) else { return nil }
                return number
            }
            switch flag {
            case "--devices": options.devices = value
            case "--count":
                guard let count = Int(value), count >= 1, count <= 1_000_000 else { return fail("--count must be 1 to 1000000, got \(value)") }
                options.count = count
            case "--types": options.types = value.split(separator: ",").map(String.init)
            case "--broker": options.broker = value
            case "--client-id": options.clientID = value
            case "--seed":
                guard let seed = UInt64(value) else { return fail("--seed must be a non-negative integer, got \(value)") }
                options.seed = seed
            case "--duration":
                guard let duration = number(0.001...1e9) else { return fail("--duration must be positive seconds, got \(value)") }
                options.duration = duration
            case "--speedup":
                guard let speedup = number(1e-3...1e9) else { return fail("--speedup must be positive, got \(value)") }
                options.speedup = speedup
            case "--start":
                guard let start = number(1...1e11) else { return fail("--start must be Unix seconds, got \(value)") }
                options.start = start
            case "--malformed-rate":
                guard let rate = number(0...1) else { return fail("--malformed-rate must be 0 to 1, got \(value)") }
                options.malformedRate = rate
            case "--sensor-faults":
                guard let share = number(0...1) else { return fail("--sensor-faults must be 0 to 1, got \(value)") }
                options.sensorFaultShare = share
            case "--outage-every":
                guard let every = number(0...1e9) else { return fail("--outage-every must be seconds, got \(value)") }
                options.outageEvery = every
            case "--outage-seconds":
                guard let seconds = number(0...1e9) else { return fail("--outage-seconds must be seconds, got \(value)") }
                options.outageSeconds = seconds
            case "--maintenance-topic": options.maintenanceTopicPrefix = value
            case "--dump": options.dump = value
            case "--ground-truth": options.groundTruth = value
            default: return fail("unknown option \(flag) (see --help)")
            }
        }
        do {
            let profiles = try DeviceProfile.loadAll(folder: options.devices)
            let simulator = try FleetSimulator(options: options, profiles: profiles)
            let log: @Sendable (String) -> Void = { StandardError.write("vigil-sim: \($0)\n") }
            let sink: MessageSink = try options.dump.map { try DumpSink(path: $0) }
                ?? BrokerSink(url: BrokerURL(parsing: options.broker), clientID: options.clientID, log: log)
            let report = try simulator.run(into: sink)
            if let path = options.groundTruth {
                guard let file = fopen(path, "w") else { return fail("cannot write \(path)", 1) }
                fputs(simulator.groundTruth().serialized() + "\n", file)
                fclose(file)
            }
            let rate = Double(report.messages) / max(report.wallSeconds, 1e-9)
            print("""
                vigil-sim: \(report.messages) messages (\(report.samples) samples) from \(options.count) devices in \
                \((report.wallSeconds * 10).rounded() / 10) s, \(Int(rate)) msgs/s; \
                \(report.maintenanceEvents) maintenance events, \(report.malformed) malformed, \(report.dropped) dropped, \
                \(report.replayed) replayed after outages, \(report.duplicates) duplicates
                """)
            return 0
        } catch let error as ConfigurationError {
            return fail("\(error)")
        } catch {
            return fail("\(error)", 1)
        }
    }
}
