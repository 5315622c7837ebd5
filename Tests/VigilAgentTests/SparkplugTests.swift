import Testing
import VigilAgent
import VigilCore
import VigilFleet
import VigilMQTT
import VigilSparkplug
import VigilStore
import VigilTestSupport

/// The agent as a Sparkplug B host application, against an edge node nobody here wrote
/// (pysparkplug, from PyPI, in a venv the test makes) through a real mosquitto.
@Suite("Sparkplug B host", .serialized)
struct SparkplugTests {
    /// A motor that speaks only Sparkplug: its sensors by metric name, vibration as a float array.
    static let profile = """
        {"type": "sp-motor",
         "sensors": [{"name": "temperature", "unit": "degC", "kind": "value", "min": -40, "max": 200, "sparkplug_metric": "Motor/Temperature"},
                     {"name": "current", "unit": "A", "kind": "value", "min": 0, "max": 100, "sparkplug_metric": "Motor/Current"},
                     {"name": "vibration", "unit": "g", "kind": "block", "rate_hz": 2048, "min": -50, "max": 50, "sparkplug_metric": "Motor/Vibration"}]}
        """

    static func harness() throws -> AgentHarness {
        let harness = try AgentHarness()
        try writeFile(harness.directory.file("devices/sp-motor.json"), profile)
        try harness.writeConfiguration(#""sparkplug": {"groups": ["plant-1"], "host_id": "vigil-test"}, "clock_tolerance_seconds": 0, "metrics_listen": "127.0.0.1:0""#)
        return harness
    }

    /// The agent's `vigil_sparkplug_devices` gauge for `state`, as Prometheus would scrape it.
    static func devices(_ agent: Agent, _ state: String) throws -> Double? {
        let port = try #require(agent.metricsAddress).port
        let body = try httpRequest(port: Int(port), "GET /metrics HTTP/1.1").body
        return body.split(separator: "\n").first { $0.hasPrefix("vigil_sparkplug_devices{state=\"\(state)\"}") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    /// Births missed, data before birth, two rebirth cycles, a lost message, a device no profile
    /// matches, a device's death and its node's: the agent stores exactly the data the node sent
    /// after it knew the node, refuses the rest with reasons, counts the loss and asks for births.
    @Test func storesExactlyWhatAPySparkplugEdgeNodeSent() throws {
        let python = try PythonEnvironment.make("pysparkplug", packages: ["pysparkplug==0.6.1", "paho-mqtt==1.6.1"])
        let script = String(#filePath.dropLast("SparkplugTests.swift".count)) + "Fixtures/sparkplug_edge_node.py"
        // The edge node exits 3 when its own connection dropped and the broker did not pass on all
        // it sent (seen under load, three runs in a row once while the whole suite ran): that run
        // says nothing of the agent, so it runs again, up to five times.
        var harness: AgentHarness, agent: Agent, node: ChildProcess, sentPath: String
        var attempts = 0
        repeat {
            attempts += 1
            harness = try Self.harness()
            sentPath = harness.directory.file("sent.json")
            node = try ChildProcess(python.python, ["-u", script, "--port", "\(harness.broker.port)", "--out", sentPath],
                                    log: harness.directory.file("edge-node.log"))
            guard eventually(timeout: 30, { node.output().contains("born") || node.hasExited }), !node.hasExited else {
                throw TestFailure("the edge node did not start: \(node.output())")
            }
            agent = try harness.startAgent()
            guard eventually(timeout: 90, { node.hasExited }) else {
                _ = node.stop()
                agent.stop()
                throw TestFailure("the edge node did not finish: \(node.output())")
            }
            if node.wait() == 3 && attempts < 5 { agent.stop() } else { break }
        } while true
        guard node.wait() == 0 else {
            agent.stop()
            let counters = try harness.query("SELECT name, value FROM counters").map { "\($0[0].string ?? "")=\($0[1].int64 ?? 0)" }
            let letters = try harness.query("SELECT topic, detail FROM dead_letters").map { "\($0[0].string ?? ""): \($0[1].string ?? "")" }
            throw TestFailure("the edge node failed (exit status \(node.wait())): \(node.output()); counters \(counters); dead letters \(letters)")
        }
        let sent = try JSONParser.parse(readFile(sentPath))
        guard case .array(let stored)? = sent["stored"] else { throw TestFailure("no stored list in \(sent)") }
        #expect(stored.count == 31)
        // Every DDATA after the births: 31 messages, 3 dead letters before birth, 2 for the
        // unmatched device (its birth and its data).
        do {
            try harness.waitUntilIngested(31 + 3 + 2)
        } catch {
            let counters = try harness.query("SELECT name, value FROM counters").map { "\($0[0].string ?? "")=\($0[1].int64 ?? 0)" }
            let letters = try harness.query("SELECT topic, detail FROM dead_letters").map { "\($0[0].string ?? ""): \($0[1].string ?? "")" }
            agent.stop()
            let logged = harness.log.all.filter { $0.contains("sparkplug") || $0.contains("Sparkplug") }
            throw TestFailure("\(error); counters \(counters); dead letters \(letters); edge node: \(node.output()); agent: \(logged)")
        }
        let online = try retainedState(harness)
        agent.stop()
        let offline = try retainedState(harness)

        let device = "plant-1:line-4:motor-7"
        #expect(try harness.counter("messages_stored") == 31)
        #expect(try harness.counter("dead_letters.no_birth") == 3)
        #expect(try harness.counter("dead_letters.unknown_device") == 2)
        #expect(try harness.counter("sparkplug_rebirth_requests") == 2)
        #expect(try harness.integer("SELECT missing FROM devices WHERE device = '\(device)'") == 1)
        #expect(try harness.integer("SELECT count(*) FROM devices") == 1)
        #expect(try harness.integer("SELECT online FROM devices") == 0)
        #expect(online.hasPrefix(#"{"online":true,"timestamp":"#))
        #expect(offline.hasPrefix(#"{"online":false,"timestamp":"#))

        func readings(_ sensor: String) throws -> [[SQLValue]] {
            try harness.query("""
                SELECT r.ts, r.value, r.samples FROM readings r JOIN series s ON s.id = r.series
                WHERE s.device = '\(device)' AND s.sensor = '\(sensor)' ORDER BY r.ts
                """)
        }
        let temperature = try readings("temperature")
        let current = try readings("current")
        let vibration = try readings("vibration")
        #expect(temperature.count == 31 && current.count == 31 && vibration.count == 31)
        for (index, message) in stored.enumerated() where index < min(temperature.count, current.count, vibration.count) {
            let ts = (message["ts"].flatMap { if case .number(let x) = $0 { x } else { nil } } ?? 0) / 1000
            #expect(temperature[index][0].double == ts && current[index][0].double == ts && vibration[index][0].double == ts)
            #expect(temperature[index][1] == .real(number(message["temperature"])))
            #expect(current[index][1] == .real(number(message["current"])))
            guard case .array(let samples)? = message["vibration"] else { continue }
            #expect(try blockSamples(vibration[index][2]) == samples.map(number))
        }
        #expect(harness.log.all.contains { $0.contains("a Sparkplug device went offline") && $0.contains(device) })
    }

    private func number(_ value: JSONValue?) -> Double {
        if case .number(let x)? = value { x } else { .nan }
    }

    /// The protocol's error paths, one message at a time: each refusal names its reason, the
    /// stream goes on, and the rebirth requests reach the node's NCMD topic.
    @Test func refusesWhatItCannotPlaceAndAsksForBirths() throws {
        let harness = try Self.harness()
        let agent = try harness.startAgent()
        let commands = MessageInbox(capacity: 100)
        let watcher = try connectedClient(harness.broker.url, id: "ncmd-watcher", subscriptions: ["spBv1.0/plant-1/NCMD/#"], inbox: commands)
        defer { watcher.stop() }
        let node = try harness.publisher("edge")
        let base: UInt64 = 1_750_000_000_000
        func metric(_ name: String?, alias: UInt64, _ type: SparkplugDataType?, _ value: SparkplugMetric.Value?) -> SparkplugMetric {
            SparkplugMetric(name: name, alias: alias, dataType: type, value: value)
        }
        let birth = [metric("Motor/Temperature", alias: 1, .double, .double(40)), metric("Motor/Current", alias: 2, .float, .float(5)),
                     metric("Motor/Vibration", alias: 3, .floatArray, .bytes([])), metric("bdSeq", alias: 9, .int64, .long(7))]
        var published = 0
        func send(_ type: SparkplugTopic.MessageType, device: String? = "motor-7", seq: UInt64?, _ metrics: [SparkplugMetric],
                  node name: String = "line-4") throws {
            let topic = SparkplugTopic(group: "plant-1", type: type, node: name, device: type.isDevice ? device : nil)
            let payload = SparkplugPayload(timestamp: base + UInt64(published) * 1000, seq: seq, metrics: metrics)
            try node.publish(topic: topic.description, payload: payload.encoded(), qos: 1)
            published += 1
        }
        func data(_ seq: UInt64, temperature: Double = 41) -> [SparkplugMetric] {
            [metric(nil, alias: 1, nil, .double(temperature)), metric(nil, alias: 2, nil, .float(5.5))]
        }
        try send(.deviceData, seq: 0, data(0))                                      // before any birth: refused, rebirth asked
        try send(.nodeBirth, seq: 0, [metric("bdSeq", alias: 9, .int64, .long(7))])
        try send(.deviceBirth, seq: 1, birth)
        try send(.deviceData, seq: 2, data(2))                                      // stored
        try send(.deviceData, seq: 2, data(2))                                      // the same again: a duplicate
        try send(.deviceData, seq: 4, data(4))                                      // seq 3 lost: stored, one missing, rebirth asked
        try send(.deviceData, seq: 5, [metric(nil, alias: 44, nil, .double(1))])   // an alias the birth lacks
        try send(.deviceData, seq: 6, data(6, temperature: 900))                    // outside the profile's range
        try send(.deviceData, seq: 7, [metric(nil, alias: 1, nil, .string("hot"))]) // not a number
        try send(.deviceData, seq: 8, [metric(nil, alias: 1, nil, .double(.nan))])
        try send(.deviceBirth, device: "pump-2", seq: 9, [metric("Pump/Flow", alias: 1, .double, .double(3))])
        try send(.deviceData, device: "pump-2", seq: 10, data(10))
        try send(.nodeDeath, seq: nil, [metric("bdSeq", alias: 9, .int64, .long(6))])  // an earlier connection's death: ignored
        try send(.deviceData, seq: 11, data(11))                                    // stored
        try send(.nodeData, seq: 12, [])                                            // the node's own data: nothing to store
        try send(.deviceBirth, device: "motor-9", seq: 13, Array(birth.prefix(2)))  // a motor without its vibration
        try send(.nodeDeath, seq: nil, [metric("bdSeq", alias: 9, .int64, .long(7))])  // this connection's death
        try send(.deviceData, seq: 14, data(14))                                    // after the death: refused
        try send(.deviceData, seq: 15, [], node: "line-4/extra")                    // not a Sparkplug topic
        #expect(node.waitForPublished(timeout: 10))
        // 3 stored, 1 duplicate, 10 refused; births, deaths and the node's data store nothing.
        try harness.waitUntilIngested(14)
        let requests = collectBytes(commands, count: 3, timeout: 2)
        // Gauges follow the commit that holds the death.
        #expect(try eventually { try Self.devices(agent, "offline") == 1 && Self.devices(agent, "online") == 0 })
        agent.stop()

        #expect(try harness.counter("messages_stored") == 3)
        #expect(try harness.counter("duplicates") == 1)
        #expect(try harness.counter("dead_letters.no_birth") == 3)
        #expect(try harness.counter("dead_letters.out_of_range") == 1)
        #expect(try harness.counter("dead_letters.wrong_type") == 1)
        #expect(try harness.counter("dead_letters.non_finite") == 1)
        #expect(try harness.counter("dead_letters.unknown_device") == 3)
        #expect(try harness.counter("dead_letters.unknown_topic") == 1)
        #expect(try harness.integer("SELECT missing FROM devices WHERE device = 'plant-1:line-4:motor-7'") == 1)
        // The death of its node put the motor offline, as the status says.
        let status = try AgentStatus.read(database: harness.database)
        #expect(status.devices.map(\.device) == ["plant-1:line-4:motor-7"] && status.devices.first?.online == false)
        #expect(status.json().contains(#""online": false"#))
        #expect(try harness.query("SELECT detail FROM dead_letters WHERE reason = 'unknown_device' ORDER BY id").map { $0[0].string ?? "" } == [
            "the birth of plant-1:line-4:pump-2 names no sensor of any device profile (its metrics: Pump/Flow): a profile's sensors name theirs in sparkplug_metric",
            "device pump-2 of edge node line-4: its DBIRTH matched no device profile",
            "the birth of plant-1:line-4:motor-9 matches no device profile: the closest, sp-motor, needs metrics Motor/Vibration"])
        #expect(try harness.query("SELECT detail FROM dead_letters WHERE reason = 'no_birth' ORDER BY id").map { $0[0].string ?? "" } == [
            "DDATA from edge node line-4 of group plant-1 before its NBIRTH: a rebirth is requested",
            "metric alias 44 was not in the birth of plant-1:line-4:motor-7: a rebirth is requested",
            "DDATA from edge node line-4 of group plant-1 before its NBIRTH: a rebirth is requested"])
        // Data before birth, the lost message, the unknown alias and data after the death each
        // call for births: the first two go out (a birth came between them), the last two fall
        // within 5 s of the second and wait.
        #expect(try harness.counter("sparkplug_rebirth_requests") == 2)
        #expect(requests.count == 2 && requests.allSatisfy { $0.topic == "spBv1.0/plant-1/NCMD/line-4" })
        let request = try SparkplugPayload(decoding: requests.first?.payload ?? [])
        #expect(request.metrics.first?.name == "Node Control/Rebirth" && request.metrics.first?.value == .boolean(true))
        #expect(try harness.integer("SELECT count(*) FROM readings") == 6)
    }

    /// The host's retained STATE as a new client sees it.
    private func retainedState(_ harness: AgentHarness) throws -> String {
        let inbox = MessageInbox(capacity: 10)
        let client = try connectedClient(harness.broker.url, id: "state-reader", subscriptions: ["spBv1.0/STATE/vigil-test"], inbox: inbox)
        defer { client.stop() }
        return collect(inbox, count: 1).first?.payload ?? ""
    }

    /// A stored block's samples, read as the trainer reads them.
    private func blockSamples(_ value: SQLValue) throws -> [Double] {
        guard case .blob(let bytes) = value else { throw TestFailure("no sample blob") }
        return FleetTables.samples(bytes).map(Double.init)
    }
}
