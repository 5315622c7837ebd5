import Testing
import VigilAgent
import VigilCore
import VigilObservability
import VigilTestSupport
import VigilTrainer

/// What an operator's Prometheus sees, and the log lines an operator reads.
@Suite("Metrics and logs")
struct MetricsTests {
    /// A real Prometheus scrapes the agent and the trainer's ingest; PromQL through its HTTP API
    /// gives back exactly what was stored, refused, duplicated, uploaded and acknowledged.
    @Test func prometheusScrapesAgentAndTrainer() throws {
        let fleet = try FleetHarness()
        try fleet.configure(#""metrics_listen": "127.0.0.1:0""#)
        let trainerMetrics = TrainerMetrics()
        let trainerEndpoint = try MetricsServer(address: ListenAddress(parsing: "127.0.0.1:0"), registry: trainerMetrics.registry)
        trainerEndpoint.start()
        defer { trainerEndpoint.stop() }
        let ingest = try fleet.startIngest(metrics: trainerMetrics)
        defer { ingest.stop() }
        let agent = try fleet.edge.startAgent()
        defer { agent.stop() }
        let agentPort = try #require(agent.metricsAddress).port
        let prometheus = try TestPrometheus(scraping: [Int(agentPort), Int(trainerEndpoint.address.port)])
        defer { prometheus.stop() }

        // 300 readings stamped with the wall clock (up to 100 s ago), 10 of them again, and 5
        // payloads that are not JSON.
        let now = Int(WallClock.now())
        let devices = ["m1", "m2", "m3"]
        let readings = (0..<100).flatMap { second in
            devices.map { ("plant/motor/\($0)/temperature", #"{"seq": \#(second), "ts": \#(now - 100 + second), "value": 40}"#) }
        }
        let publisher = try fleet.edge.publisher()
        try publishAll(publisher, readings + readings.prefix(10) + (0..<5).map { ("plant/motor/m9/temperature", "{not json \($0)") })
        try fleet.edge.waitUntilIngested(315)
        try fleet.waitUntilSynced()
        let rows = try FleetHarness.rows(fleet.store).count

        let expected: [(String, Double)] = [
            ("vigil_messages_stored_total", 300),
            ("vigil_duplicate_messages_total", 10),
            (#"vigil_messages_refused_total{reason="invalid_json"}"#, 5),
            ("vigil_publish_to_commit_seconds_count", 300),
            ("vigil_feature_windows_total", Double(try fleet.edge.counter("feature_rows"))),
            ("vigil_upload_rows_acknowledged_total", Double(rows)),
            ("vigil_outbox_rows", 0),
            ("vigil_uplink_connected", 1),
            ("vigil_trainer_rows_stored_total", Double(rows)),
            (#"vigil_trainer_batches_refused_total{reason="malformed"}"#, 0),
        ]
        var seen: [String: Double?] = [:]
        let agreed = eventually(timeout: 30) {
            for (query, _) in expected { seen[query] = try? prometheus.query(query) }
            return expected.allSatisfy { seen[$0.0] == $0.1 }
        }
        #expect(agreed, "Prometheus saw \(seen), expected \(expected)")
        #expect(try prometheus.targetsUp())
        let size = try #require(try prometheus.query("vigil_database_bytes"))
        let bound = try #require(try prometheus.query("vigil_database_max_bytes"))
        #expect(size > 0 && size <= bound, "database \(size) bytes, bound \(bound)")
        // Five refusals in a burst make one warning line, not five.
        let warnings = fleet.edge.log.all.filter { $0.contains(#"msg="payload refused, kept as a dead letter""#) }
        #expect(warnings.count == 1, "\(warnings)")
        #expect(warnings.first?.contains("level=warning component=ingest") == true, "\(warnings)")
    }

    /// `vigil-agent run` serves /metrics in Prometheus' text format with only `vigil_` names,
    /// answers anything else with an HTTP error, and logs key=value lines at the level asked.
    @Test func agentProcessServesMetricsAndLogsAtItsLevel() throws {
        let harness = try AgentHarness()
        let port = try freePort()
        try harness.writeConfiguration(#""metrics_listen": "127.0.0.1:\#(port)""#)
        let agent = try harness.startAgentProcess(arguments: ["--log-level", "debug"])
        defer { agent.stop() }
        try publishAll(try harness.publisher(), [("plant/motor/m1/temperature", #"{"seq": 1, "ts": 1750000000, "value": 41}"#)])
        try harness.waitUntilIngested(1)

        var scrape = try httpRequest(port: port, "GET /metrics HTTP/1.1")
        #expect(eventually { scrape = (try? httpRequest(port: port, "GET /metrics HTTP/1.1")) ?? scrape
            return scrape.body.contains("vigil_messages_stored_total 1") })
        #expect(scrape.status == 200)
        let samples = scrape.body.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(!samples.isEmpty && samples.allSatisfy { $0.hasPrefix("vigil_") }, "\(samples)")
        #expect(try httpRequest(port: port, "GET /other HTTP/1.1").status == 404)
        #expect(try httpRequest(port: port, "POST /metrics HTTP/1.1").status == 405)
        #expect(try httpRequest(port: port, "NONSENSE").status == 400)

        let lines = agent.output().split(separator: "\n")
        #expect(lines.contains { $0.contains(#"level=info component=agent msg=starting"#) && $0.contains("metrics=http://127.0.0.1:\(port)/metrics") })
        #expect(lines.allSatisfy { $0.contains(" level=") && $0.contains(" msg=") }, "\(lines)")
    }

    /// At `--log-level warning` the agent says nothing while all is well; an unknown level is
    /// bad usage (64), an unusable `metrics_listen` a bad config (78) naming the field.
    @Test func logLevelAndListenAddressAreChecked() throws {
        let harness = try AgentHarness()
        // A first run makes the agent's session on the broker: the second, which says nothing
        // when subscribed, gets what was published meanwhile.
        _ = try harness.startAgentProcess().stop()
        let logged = try readFile(harness.directory.file("agent.log"))
        let agent = try harness.startAgentProcess(arguments: ["--log-level", "warning"], waitForSubscription: false)
        try publishAll(try harness.publisher(), [("plant/motor/m1/temperature", #"{"seq": 1, "ts": 1750000000, "value": 41}"#)])
        try harness.waitUntilIngested(1)
        agent.stop()
        let quiet = agent.output().dropFirst(logged.count)
        #expect(!quiet.contains("level=info") && !quiet.contains("level=notice"), "\(quiet)")

        let binary = buildProductsDirectory() + "/vigil-agent"
        let log = harness.directory.file("usage.log")
        #expect(try ChildProcess.run(binary, ["run", "--config", harness.configPath, "--log-level", "loud"], log: log) == 64)
        #expect(try readFile(log).contains("unknown log level \"loud\""))
        try harness.writeConfiguration(#""metrics_listen": "127.0.0.1:99999""#)
        #expect(try ChildProcess.run(binary, ["run", "--config", harness.configPath], log: log) == 78)
        #expect(try readFile(log).contains("metrics_listen"))
    }

    /// `vigil-trainer ingest --metrics-listen` serves the trainer's metrics and logs key=value
    /// lines; a bad address or level is bad usage (64).
    @Test func trainerIngestServesMetrics() throws {
        let fleet = try FleetHarness()
        let port = try freePort()
        let trainer = buildProductsDirectory() + "/vigil-trainer"
        let log = fleet.edge.directory.file("ingest.log")
        let ingest = try ChildProcess(trainer, ["ingest", "--broker", fleet.central.url, "--store", fleet.store,
                                                "--metrics-listen", "127.0.0.1:\(port)"], log: log)
        defer { ingest.stop() }
        var scrape: (status: Int, body: String)?
        #expect(eventually { scrape = try? httpRequest(port: port, "GET /metrics HTTP/1.1"); return scrape?.status == 200 })
        #expect(scrape?.body.contains("vigil_trainer_batches_stored_total 0") == true, "\(String(describing: scrape))")
        #expect(eventually { ingest.output().contains("level=info component=mqtt msg=subscribed") }, "\(ingest.output())")
        let usage = fleet.edge.directory.file("usage.log")
        #expect(try ChildProcess.run(trainer, ["ingest", "--broker", fleet.central.url, "--store", fleet.store,
                                               "--metrics-listen", "somewhere"], log: usage) == 64)
        #expect(try ChildProcess.run(trainer, ["ingest", "--broker", fleet.central.url, "--store", fleet.store,
                                               "--log-level", "loud"], log: usage) == 64)
        #expect(try readFile(usage).contains("--metrics-listen") && readFile(usage).contains("unknown log level"))
    }
}
