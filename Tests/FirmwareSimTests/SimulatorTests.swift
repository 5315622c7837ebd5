import FirmwareSim
import Testing
import VigilAgent
import VigilCore
import VigilMQTT
import VigilObservability
import VigilStore
import VigilTestSupport

@Suite("Simulator runs")
struct SimulatorTests {
    static let devices = String(#filePath.split(separator: "/Tests/").first!) + "/devices"

    func dump(seed: UInt64, directory: TemporaryDirectory, name: String) throws -> String {
        var options = SimulatorOptions()
        options.devices = Self.devices
        options.count = 9
        options.seed = seed
        options.duration = 20
        options.speedup = 20_000
        options.start = 1_750_000_000
        options.malformedRate = 0.02
        options.outageEvery = 5
        options.dump = directory.file(name)
        let simulator = try FleetSimulator(options: options, profiles: DeviceProfile.loadAll(folder: Self.devices))
        _ = try simulator.run(into: DumpSink(path: directory.file(name)))
        return try readFile(directory.file(name))
    }

    @Test func sameSeedSameRun() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try dump(seed: 5, directory: directory, name: "a.txt")
        #expect(first.split(separator: "\n").count > 200)
        #expect(try dump(seed: 5, directory: directory, name: "b.txt") == first)
        #expect(try dump(seed: 6, directory: directory, name: "c.txt") != first)
    }

    /// Machines of one type differ as in a plant at spread 1, within the documented ranges, and
    /// are all nominal at spread 0.
    @Test(arguments: [0.0, 1.0])
    func machinesOfOneTypeDiffer(spread: Double) throws {
        var options = SimulatorOptions()
        options.devices = Self.devices
        options.count = 30
        options.machineSpread = spread
        options.start = 1_750_000_000
        let simulator = try FleetSimulator(options: options, profiles: DeviceProfile.loadAll(folder: Self.devices))
        guard case .array(let devices)? = simulator.groundTruth()["devices"] else { throw TestFailure("no devices in the ground truth") }
        func values(_ field: String) -> [Double] {
            devices.compactMap { device -> Double? in
                guard case .number(let value)? = device["variation"]?[field] else { return nil }
                return value
            }
        }
        #expect(values("impact").count == 30)
        for (field, range) in [("impact", 0.5...2.0), ("resonance", 0.5...2.0), ("noise", 0.5...2.0), ("gain", 0.75...1.25),
                               ("operating_point", 0.95...1.05)] {
            let drawn = values(field)
            if spread == 0 {
                #expect(drawn.allSatisfy { $0 == 1 }, "\(field): \(drawn)")
            } else {
                #expect(drawn.allSatisfy { range.contains($0) }, "\(field): \(drawn)")
                // Spread over most of the range, not clustered at nominal.
                #expect(drawn.max()! - drawn.min()! > 0.6 * (range.upperBound - range.lowerBound), "\(field): \(drawn)")
            }
        }
    }

    @Test func profileErrorsNameFileAndField() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeFile(directory.file("m.json"), """
            {"type": "m", "topics": ["p/{device}/{sensor}"],
             "sensors": [{"name": "t", "unit": "C", "kind": "value", "min": 0, "max": 1, "signal": "temperature"}],
             "machine": {"shaft_hz": 10, "bearing": {"balls": 2, "ball_diameter": 1, "pitch_diameter": 5},
                         "resonance_hz": 100, "damping_per_s": 10, "operating_point": {}},
             "faults": [{"mode": "outer_race", "life_hours": [10, 5], "onset_fraction": [0.1, 0.2]}]}
            """)
        #expect(throws: ConfigurationError(file: directory.file("m.json"), field: "machine.bearing",
                                           problem: "needs at least 3 balls and 0 < ball_diameter < pitch_diameter")) {
            try DeviceProfile.loadAll(folder: directory.path)
        }
        try writeFile(directory.file("m.json"), """
            {"type": "m", "topics": ["p/{device}/{sensor}"],
             "sensors": [{"name": "t", "unit": "C", "kind": "value", "min": 0, "max": 1, "signal": "heat"}]}
            """)
        do {
            _ = try DeviceProfile.loadAll(folder: directory.path)
            Issue.record("an unknown signal was accepted")
        } catch {
            #expect(error.field == "sensors[0].signal")
        }
        // A simulated sensor every 10 minutes of machine time fills an hour's window with 6
        // readings: too few for its statistics, so the profile is refused.
        try writeFile(directory.file("m.json"), """
            {"type": "m", "topics": ["p/{device}/{sensor}"],
             "sensors": [{"name": "t", "unit": "C", "kind": "value", "min": 0, "max": 1, "signal": "temperature", "interval_s": 600}],
             "machine": {"shaft_hz": 10, "bearing": {"balls": 8, "ball_diameter": 1, "pitch_diameter": 5},
                         "resonance_hz": 100, "damping_per_s": 10, "operating_point": {}},
             "faults": [{"mode": "outer_race", "life_hours": [10, 20], "onset_fraction": [0.1, 0.2]}],
             "features": [{"sensor": "t", "window": {"seconds": 3600, "hop_seconds": 1800}, "features": ["mean"]}]}
            """)
        #expect(throws: ConfigurationError(file: directory.file("m.json"), field: "features[0].window",
                                           problem: "a window of 3600.0 s holds 6 readings of t at its interval_s of 600.0 s; it needs at least 10")) {
            try DeviceProfile.loadAll(folder: directory.path)
        }
    }

    /// The simulated fleet against a real broker and the agent: everything published is
    /// stored, malformed payloads land in dead letters, replayed duplicates are stored once,
    /// and the maintenance events arrive as labels.
    /// An agent on the shipped profiles, with more top-level config fields in `extra`, started.
    func startAgent(_ broker: TestBroker, _ directory: TemporaryDirectory, extra: String = "") throws -> Agent {
        try writeFile(directory.file("agent.json"), """
            {"agent_id": "sim-test", "broker": {"url": "\(broker.url)", "clean_session": true},
             "database": "agent.db", "devices": "\(Self.devices)"\(extra)}
            """)
        let agent = try Agent(configuration: AgentConfiguration.load(file: directory.file("agent.json")), logger: .silent)
        agent.start()
        guard agent.waitUntilReady(timeout: 10) else { throw TestFailure("the agent did not subscribe") }
        return agent
    }

    /// A fast run of 12 devices, half with sensor faults, 3% of payloads malformed.
    func fleetOptions() -> SimulatorOptions {
        var options = SimulatorOptions()
        options.devices = Self.devices
        options.count = 12
        options.seed = 11
        options.duration = 30
        options.speedup = 40_000
        options.asFastAsPossible = true
        options.malformedRate = 0.03
        options.sensorFaultShare = 0.5
        return options
    }

    @Test func endToEndWithTheAgent() throws {
        let broker = try TestBroker()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let agent = try startAgent(broker, directory)

        var options = fleetOptions()
        options.outageEvery = 10
        options.outageSeconds = 3
        let simulator = try FleetSimulator(options: options, profiles: DeviceProfile.loadAll(folder: Self.devices))
        let report = try simulator.run(into: BrokerSink(url: BrokerURL(parsing: broker.url), clientID: "sim"))
        #expect(report.malformed > 0 && report.duplicates > 0 && report.maintenanceEvents > 0)

        let database = directory.file("agent.db")
        func counters() throws -> [String: Int64] { try AgentStatus.read(database: database).counters }
        func total(_ counters: [String: Int64]) -> Int64 {
            counters.filter { $0.key == "messages_stored" || $0.key == "duplicates" || $0.key == "maintenance_events"
                || $0.key.hasPrefix("dead_letters.") }.values.reduce(0, +)
        }
        let expected = Int64(report.messages + report.duplicates + report.maintenanceEvents)
        #expect(try eventually(timeout: 30) { try total(counters()) >= expected })
        agent.stop()

        let status = try AgentStatus.read(database: database)
        // A resent malformed message is refused again rather than recognised as a duplicate.
        let duplicates = status.counters["duplicates", default: 0]
        #expect(status.deadLetterTotal >= Int64(report.malformed))
        #expect(status.deadLetterTotal + duplicates == Int64(report.malformed + report.duplicates))
        #expect(status.counters["messages_stored"] == Int64(report.messages - report.malformed))
        #expect(status.counters["maintenance_events"] == Int64(report.maintenanceEvents))
        let missing = status.devices.reduce(0) { $0 + $1.missing }
        #expect(missing <= Int64(report.malformed + report.dropped), "gaps come only from malformed and dropped messages")
        let reader = try Database(path: database, readOnly: true)
        #expect(try reader.scalar("SELECT count(*) FROM readings")?.int64
                == reader.scalar("SELECT count(*) FROM (SELECT DISTINCT series, seq, ts FROM readings)")?.int64)
        // The agent calls exactly the devices whose firmware the simulator made spike spiking.
        guard case .array(let truth)? = simulator.groundTruth()["devices"] else { Issue.record("no ground truth"); return }
        let simulated = Set(truth.compactMap { device -> String? in
            guard case .string(let name)? = device["device"], device["sensor_fault"] == .string("spikes") else { return nil }
            return name
        })
        let flagged = Set(status.devices.filter { $0.sensorFaults.contains("spikes") }.map(\.device))
        #expect(!simulated.isEmpty && flagged == simulated, "simulated \(simulated.sorted()), flagged \(flagged.sorted())")
    }

    /// The same fleet speaking Sparkplug B, one edge node for all: the agent stores every data
    /// message but the malformed, counts dropped and refused ones as missing (asking for births
    /// again, which the simulator answers), files maintenance events under the Sparkplug names,
    /// and sees every device go offline with the node's death at the end.
    @Test func endToEndOverSparkplug() throws {
        let broker = try TestBroker()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let agent = try startAgent(broker, directory, extra: #", "clock_tolerance_seconds": 0, "sparkplug": {"groups": ["plant"]}"#)

        var options = fleetOptions()
        options.clientID = "gateway-1"
        options.sparkplugGroup = "plant"
        let simulator = try FleetSimulator(options: options, profiles: DeviceProfile.loadAll(folder: Self.devices))
        let death = try #require(simulator.sparkplugDeath)
        let report = try simulator.run(into: BrokerSink(url: BrokerURL(parsing: broker.url), clientID: "gateway-1",
                                                        sparkplug: ("plant", death)))
        #expect(report.malformed > 0 && report.dropped > 0 && report.maintenanceEvents > 0)

        let database = directory.file("agent.db")
        func counters() throws -> [String: Int64] { try AgentStatus.read(database: database).counters }
        func total(_ counters: [String: Int64]) -> Int64 {
            counters.filter { $0.key == "messages_stored" || $0.key == "maintenance_events" || $0.key.hasPrefix("dead_letters.") }
                .values.reduce(0, +)
        }
        #expect(try eventually(timeout: 30) { try total(counters()) >= Int64(report.messages + report.maintenanceEvents) })
        #expect(try eventually(timeout: 10) { try AgentStatus.read(database: database).devices.allSatisfy { $0.online == false } })
        agent.stop()

        let status = try AgentStatus.read(database: database)
        #expect(status.counters["messages_stored"] == Int64(report.messages - report.malformed))
        #expect(status.deadLetterTotal == Int64(report.malformed), "\(status.counters) \(status.recentDeadLetters.map(\.detail))")
        #expect(status.counters["duplicates"] == nil)
        #expect(status.counters["maintenance_events"] == Int64(report.maintenanceEvents))
        #expect(status.counters["sparkplug_rebirth_requests", default: 0] > 0)
        guard case .array(let truth)? = simulator.groundTruth()["devices"] else { Issue.record("no ground truth"); return }
        let names = truth.compactMap { device -> String? in if case .string(let name)? = device["device"] { name } else { nil } }
        #expect(status.devices.map(\.device) == names.sorted() && names.allSatisfy { $0.hasPrefix("plant:gateway-1:") })
        // A lost message and one refused unread both leave a gap in the node's sequence, but
        // not those right before a birth (when the agent's rebirth request arrives depends on
        // the machine's speed) or the death, which start the sequence again.
        let missing = status.devices.reduce(0) { $0 + $1.missing }
        let unread = status.counters["dead_letters.invalid_protobuf", default: 0]
        #expect(missing == Int64(report.dropped - report.unseenGaps) + unread,
                "missing \(missing), dropped \(report.dropped), unread \(unread), unseen \(report.unseenGaps)")
        #expect(try Database(path: database, readOnly: true).scalar("SELECT count(*) FROM readings WHERE samples IS NOT NULL")?.int64 ?? 0 > 0)
    }
}

@Suite("Simulator command line")
struct SimulatorCommandTests {
    /// A misspelt flag or a value out of range is refused as bad usage (64), never replaced by a
    /// default; good options parse into the run's settings.
    @Test func typosAndBadValuesAreRefused() throws {
        for arguments in [["--cout", "5"], ["--count", "0"], ["--malformed-rate", "2"], ["--seed", "-1"], ["--broker", "http://x"]] {
            let error = try #require(throws: (any Error).self) {
                var command = try SimulatorCommand.parseAsRoot(arguments)
                try command.validate()
            }
            #expect(SimulatorCommand.exitCode(for: error).rawValue == 64, "\(arguments)")
        }
        #expect(throws: Never.self) { try SimulatorCommand.parseAsRoot(["--count", "3", "--fast", "--seed", "7"]) }
    }
}
