#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilAgent
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilStore
import VigilTestSupport
import VigilTrainer

@Suite("Agent scoring with signed int8 models")
struct ScoringTests {
    /// A two-class model on the motor's temperature windows (mean, max): above the means it
    /// says "hot", below "healthy".
    static func bundle(signedBy key: Ed25519.KeyPair, version: String = "1.0.0", inputDeciles: [[Double]] = [],
                       diagnosis: FaultDiagnosis? = nil) -> [UInt8] {
        let input = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let output = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let layer = QuantizedDense(inputs: 2, outputs: 2, weights: [-100, -100, 100, 100], bias: [0, 0],
                                   rescale: [QuantizedMultiplier(0.01), QuantizedMultiplier(0.01)],
                                   input: input, output: output, activation: .none)
        let window = FeatureWindowSpec.Window.time(seconds: 10, hopSeconds: 10)
        let manifest = ModelManifest(
            name: "overheat", version: version, createdAt: "2026-11-27T00:00:00Z", deviceTypes: ["motor"],
            inputs: [.init(sensor: "temperature", feature: "mean", window: window),
                     .init(sensor: "temperature", feature: "max", window: window)],
            means: [45, 50], scales: [5, 5], classes: ["healthy", "hot"],
            layers: [.init(inputs: 2, outputs: 2, activation: .none, input: input, output: output)],
            anomaly: diagnosis == nil ? nil : AnomalyScore(centers: [45, 50], scales: [5, 5], alarm: .single), diagnosis: diagnosis,
            inputDeciles: inputDeciles)
        return ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: key)
    }

    /// Runs the agent while device `device` reports 21 one-second temperatures rising from
    /// `first` °C (two 10 s windows closed), and returns the health messages it published.
    static func score(_ harness: AgentHarness, device: String, first: Int, expecting count: Int) throws -> [(topic: String, payload: String)] {
        let health = MessageInbox()
        let watcher = try connectedClient(harness.broker.url, id: "health-watcher", subscriptions: ["vigil/edge-test/health/#"], inbox: health)
        let agent = try harness.startAgent()
        let publisher = try harness.publisher()
        let readings = (0..<21).map { second in
            ("plant/motor/\(device)/temperature", #"{"seq": \#(second), "ts": \#(1750000000 + second), "value": \#(first + second)}"#)
        }
        try publishAll(publisher, readings)
        try harness.waitUntilIngested(readings.count)
        let messages = collect(health, count: count)
        agent.stop()
        publisher.stop()
        watcher.stop()
        return messages
    }

    @Test func windowsAreScoredStoredAndHealthChangesPublished() throws {
        let harness = try AgentHarness()
        let key = Ed25519.generate()
        try writeBytes(harness.directory.file("models/overheat.vgm"), Self.bundle(signedBy: key))
        // A bundle signed by a stranger is refused and does not run.
        try writeBytes(harness.directory.file("models/stranger.vgm"), Self.bundle(signedBy: Ed25519.generate(), version: "9.0.0"))
        try harness.writeConfiguration(#""trusted_keys": ["\#(ModelBundle.hex(key.publicKey))"]"#)
        // 40..49 °C for ten seconds, then 50..59, then one more reading to close the second window.
        let messages = try Self.score(harness, device: "m1", first: 40, expecting: 2)

        let predictions = try harness.query("SELECT device, model, version, predicted, window_end FROM predictions ORDER BY id")
        #expect(predictions.map { $0[3] } == ["healthy", "hot"])
        #expect(predictions.first?[2] == "1.0.0", "the stranger's 9.0.0 never ran")
        #expect(predictions.map { $0[4] } == [.real(1750000010), .real(1750000020)])
        #expect(messages.map(\.topic) == ["vigil/edge-test/health/m1", "vigil/edge-test/health/m1"])
        #expect(messages.last?.payload.contains(#""state":"hot""#) == true)
        #expect(messages.last?.payload.contains(#""fault_mode":null"#) == true, "a model without mode classes names no mode")
        #expect(harness.log.all.contains { $0.contains("msg=\"model refused\"") && $0.contains("stranger.vgm") && $0.contains("not among the trusted keys") })
        #expect(try harness.counter("predictions") == 2)
    }

    /// A bundle with a diagnosis names the mode in the health message of a window in alarm: the
    /// one whose signature the window's departure from healthy lies along (mean and max 1.9 and
    /// 1.8 spreads up), when it leads the other by the bundle's margin (here by 1.51 spreads).
    @Test(arguments: [1.0, 2.0])
    func aDiagnosisNamesTheFaultMode(margin: Double) throws {
        let harness = try AgentHarness()
        let key = Ed25519.generate()
        let diagnosis = FaultDiagnosis(modes: ["cooling", "winding"], signatures: [[0.8, -0.6], [0.6, 0.8]], margin: margin)
        try writeBytes(harness.directory.file("models/overheat.vgm"), Self.bundle(signedBy: key, diagnosis: diagnosis))
        try harness.writeConfiguration(#""trusted_keys": ["\#(ModelBundle.hex(key.publicKey))"]"#)
        let messages = try Self.score(harness, device: "m1", first: 40, expecting: 2)
        #expect(messages.first?.payload.contains(#""fault_mode":null"#) == true, "no mode is named outside an alarm")
        #expect(messages.last?.payload.contains(#""state":"hot""#) == true)
        let named = margin < 1.51 ? #""fault_mode":"winding""# : #""fault_mode":null"#
        #expect(messages.last?.payload.contains(named) == true, "\(messages.last?.payload ?? "")")
    }
}

@Suite("Agent scoring around a stuck sensor")
struct StuckSensorTests {
    /// Readings that repeat one value for whole windows are a stuck sensor: the windows are
    /// counted, a model that cannot do without the sensor (no context) does not score them and
    /// says why, once, and scores again after; the trainer's dataset names the same windows' stuck
    /// sensor.
    /// With `"stuck_check": false` on the sensor (a coarse one may hold one reading), every
    /// window is scored as before.
    @Test(arguments: [true, false])
    func aStuckSensorIsReportedAndNotScored(stuckCheck: Bool) throws {
        let harness = try AgentHarness()
        let key = Ed25519.generate()
        if !stuckCheck {
            try writeFile(harness.directory.file("devices/motor.json"), AgentHarness.motorProfile.replacing(
                #""name": "temperature", "unit": "degC", "kind": "value", "min": -40, "max": 200"#,
                with: #""name": "temperature", "unit": "degC", "kind": "value", "min": -40, "max": 200, "stuck_check": false"#))
        }
        try writeBytes(harness.directory.file("models/overheat.vgm"), ScoringTests.bundle(signedBy: key))
        try harness.writeConfiguration(#""trusted_keys": ["\#(ModelBundle.hex(key.publicKey))"]"#)
        let health = MessageInbox()
        let watcher = try connectedClient(harness.broker.url, id: "health-watcher", subscriptions: ["vigil/edge-test/health/#"], inbox: health)
        defer { watcher.stop() }
        let agent = try harness.startAgent()
        // Live for 20 s, stuck at 60.0 for 20 s, live again.
        let readings = (0..<61).map { second in
            ("plant/motor/m1/temperature",
             #"{"seq": \#(second), "ts": \#(1750000000 + second), "value": \#((20..<40).contains(second) ? 60 : 40 + second % 7)}"#)
        }
        // A fault after them, so the trainer labels them.
        try publishAll(try harness.publisher(), readings + [("vigil/maintenance/m1", #"{"kind": "fault", "ts": 1750000100}"#)])
        try harness.waitUntilIngested(readings.count)
        #expect(eventually(timeout: 10) { (try? harness.query("SELECT count(*) FROM maintenance_events"))?.first?.first == .integer(1) })
        agent.stop()
        let scored = try harness.query("SELECT window_end - 1750000000 FROM predictions ORDER BY id").map { $0[0] }
        guard stuckCheck else {
            #expect(scored == [10, 20, 30, 40, 50, 60].map { SQLValue.real($0) })
            #expect(try harness.query("SELECT count(*) FROM counters WHERE name IN ('constant_windows', 'abstentions')") == [[.integer(0)]])
            return
        }
        #expect(scored == [.real(10), .real(20), .real(50), .real(60)])
        #expect(try harness.counter("constant_windows") == 2 && harness.counter("abstentions") == 2)
        // The trainer's dataset names the stuck sensor of the same windows, told from their stored
        // features alone (a max equal to the mean), so evaluate scores as the agent does.
        try writeFile(harness.directory.file("temperature.json"), """
            {"type": "motor", "topics": ["plant/motor/{device}/{sensor}"], "timestamp_unit": "s",
             "sensors": [{"name": "temperature", "unit": "degC", "kind": "value", "min": -40, "max": 200}],
             "features": [{"sensor": "temperature", "window": {"seconds": 10, "hop_seconds": 10}, "features": ["count", "mean", "max"]}]}
            """)
        let dataset = try openDatasetSource(harness.database).dataset(profile: DeviceProfile.load(file: harness.directory.file("temperature.json")),
                                                                      rule: LabelRule(horizon: 48 * 3600))
        #expect(dataset.examples.map { "\($0.windowEnd - 1750000000) \($0.stuckSensors)" }
                == ["10.0 []", "20.0 []", "30.0 [\"temperature\"]", "40.0 [\"temperature\"]", "50.0 []", "60.0 []"])
        // Health messages up to the first one after the sensor came back (the window ending at 50).
        var messages: [String] = []
        while !messages.contains(where: { $0.contains(#""window_end":1750000050"#) }) {
            let more = collect(health, count: 1).map(\.payload)
            if more.isEmpty { break }
            messages += more
        }
        let unknown = messages.filter { $0.contains(#""state":"unknown""#) }
        #expect(unknown.count == 1 && unknown[0].contains(#""suspect_sensors":["temperature"]"#), "\(messages)")
        let after = messages.drop { !$0.contains(#""state":"unknown""#) }.dropFirst()
        #expect(after.first?.contains(#""window_end":1750000050"#) == true, "scored again after: \(messages)")
        #expect(harness.log.all.filter { $0.contains("stuck?") }.count == 1)
    }
}

/// Models whose inputs have a context (`InputContext`): a device's baseline comes first, and
/// survives a restart; a repair starts a new one.
@Suite("Agent scoring against each device's baseline")
struct ContextScoringTests {
    /// A model on the temperature windows' mean and max relative to the device's baseline of
    /// 30 s: warmer than its baseline is "hot"; its anomaly score alarms 2 °C above 45 °C.
    static func bundle(signedBy key: Ed25519.KeyPair) -> [UInt8] {
        let input = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let output = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let layer = QuantizedDense(inputs: 6, outputs: 2, weights: [0, 0, -100, -100, 0, 0, 0, 0, 100, 100, 0, 0], bias: [0, 0],
                                   rescale: [QuantizedMultiplier(0.01), QuantizedMultiplier(0.01)],
                                   input: input, output: output, activation: .none)
        let window = FeatureWindowSpec.Window.time(seconds: 10, hopSeconds: 10)
        let manifest = ModelManifest(
            name: "warmer", version: "1.0.0", createdAt: "2026-11-27T00:00:00Z", deviceTypes: ["motor"],
            inputs: [.init(sensor: "temperature", feature: "mean", window: window),
                     .init(sensor: "temperature", feature: "max", window: window)],
            context: InputContext(baselineSeconds: 30, trendSeconds: 60, growth: false),
            means: [45, 50, 0, 0, 0, 0], scales: [5, 5, 0.01, 0.01, 1, 1], classes: ["healthy", "hot"],
            layers: [.init(inputs: 6, outputs: 2, activation: .none, input: input, output: output)],
            anomaly: AnomalyScore(centers: [45, 45, 0, 0, 0, 0], scales: [1, 1, 0.01, 0.01, 0.01, 0.01],
                                  alarm: AlarmPolicy(threshold: 0.8, consecutive: 1)))
        return ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: key)
    }

    /// Readings around `celsius` of each second, 0.2 °C higher every other second as a live
    /// sensor's would be (one value throughout a window is a stuck sensor).
    static func readings(_ seconds: Range<Int>, celsius: (Int) -> Double) -> [(String, String)] {
        seconds.map { second in
            ("plant/motor/m1/temperature",
             #"{"seq": \#(second), "ts": \#(1750000000 + second), "value": \#(celsius(second) + Double(second % 2) * 0.2)}"#)
        }
    }

    @Test func theBaselineComesFirstSurvivesARestartAndARepairStartsANewOne() throws {
        let harness = try AgentHarness()
        let key = Ed25519.generate()
        try writeBytes(harness.directory.file("models/warmer.vgm"), Self.bundle(signedBy: key))
        try harness.writeConfiguration(#""trusted_keys": ["\#(ModelBundle.hex(key.publicKey))"], "metrics_listen": "127.0.0.1:0""#)
        func predictions() throws -> [[SQLValue]] { try harness.query("SELECT window_end - 1750000000, predicted FROM predictions ORDER BY id") }

        // Windows end at 10, 20, ... 60: the first four (30 s from the first) make the baseline.
        let health = MessageInbox()
        let watcher = try connectedClient(harness.broker.url, id: "health-watcher", subscriptions: ["vigil/edge-test/health/#"], inbox: health)
        defer { watcher.stop() }
        var agent = try harness.startAgent()
        try publishAll(try harness.publisher(), Self.readings(0..<61) { $0 < 50 ? 45 : 47 })
        try harness.waitUntilIngested(61)
        let scrape = try harness.scrape(agent) { $0.contains(#"vigil_predictions_total{device_type="motor"} 2"#) }
        #expect(scrape.contains(#"vigil_predictions_total{device_type="motor"} 2"#), "\(scrape)")
        #expect(scrape.contains(#"vigil_anomaly_alarms_total{device_type="motor"} 1"#), "\(scrape)")
        agent.stop()
        #expect(try predictions() == [[.real(50), .text("healthy")], [.real(60), .text("hot")]])
        // The health messages carry the anomaly level and its alarm.
        let messages = collect(health, count: 2).map(\.payload)
        #expect(messages.count == 2 && messages[0].contains(#""anomaly_alarm":false"#) && messages[1].contains(#""anomaly_alarm":true"#),
                "\(messages)")
        // What the alarm is about: the readings relative to the baseline lie furthest from healthy
        // (about 4 spreads of 1%), then the absolute ones (2 spreads of 1 °C).
        let furthest = messages.last?.split(separator: #""anomaly_inputs":["#).last?.split(separator: "]").first
            .map { $0.split(separator: ",").map { $0.replacing("\"", with: "") } } ?? []
        #expect(Set(furthest.prefix(2)) == ["temperature.mean:relative", "temperature.max:relative"] && furthest.count == 3, "\(messages)")

        // A restart replays the stored windows: the windows at 70 and 80 are scored at once.
        agent = try harness.startAgent()
        try publishAll(try harness.publisher(), Self.readings(61..<81) { _ in 47 })
        try harness.waitUntilIngested(81)
        #expect(try predictions().dropFirst(2).map { $0[0] } == [.real(70), .real(80)])

        // A repair at 85: a new baseline from the first whole window after it (ending at 100),
        // so nothing is scored until the window ending at 140, which is "hot" against 45 °C.
        let publisher = try harness.publisher()
        try publishAll(publisher, [("vigil/maintenance/m1", #"{"kind": "repair", "ts": 1750000085}"#)])
        #expect(eventually(timeout: 10) { (try? harness.query("SELECT count(*) FROM maintenance_events"))?.first?.first == .integer(1) })
        try publishAll(publisher, Self.readings(86..<131) { _ in 45 } + Self.readings(131..<141) { _ in 47 })
        try harness.waitUntilIngested(136)
        agent.stop()
        #expect(try predictions().dropFirst(4) == [[.real(140), .text("hot")]], "the new baseline's windows are not scored")
    }
}

@Suite("Agent input drift")
struct InputDriftTests {
    /// A model trained on 40-50 °C windows that sees 80-100 °C ones: its inputs' PSI against the
    /// training deciles the bundle carries shows in the metrics, per input and as the largest.
    @Test func driftFromTheTrainingDataShowsInTheMetrics() throws {
        let harness = try AgentHarness()
        let key = Ed25519.generate()
        let deciles = [(41...49).map(Double.init), (46...54).map(Double.init)]
        try writeBytes(harness.directory.file("models/overheat.vgm"), ScoringTests.bundle(signedBy: key, inputDeciles: deciles))
        try harness.writeConfiguration(#""trusted_keys": ["\#(ModelBundle.hex(key.publicKey))"], "metrics_listen": "127.0.0.1:0""#)
        let agent = try harness.startAgent()
        defer { agent.stop() }
        try publishAll(try harness.publisher(), (0..<101).map { second in
            ("plant/motor/m1/temperature", #"{"seq": \#(second), "ts": \#(1750000000 + second), "value": \#(80 + second % 20)}"#)
        })
        try harness.waitUntilIngested(101)
        func drift(_ scrape: String) -> Double {
            scrape.split(separator: "\n").first { $0.hasPrefix(#"vigil_model_drift{device_type="motor"}"#) }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        let scrape = try harness.scrape(agent) { drift($0) > 0.25 }
        #expect(drift(scrape) > 0.25, "\(scrape)")
        #expect(scrape.contains(#"vigil_model_input_psi{device_type="motor",input="temperature.mean@time:10:10"}"#)
                || scrape.contains(#"vigil_model_input_psi{input="temperature.mean@time:10:10",device_type="motor"}"#), "\(scrape)")
    }
}

@Suite("Input drift upstream")
struct DriftReportTests {
    /// An agent whose model sees inputs far from its training data reports their PSI to the
    /// central broker, retained; the trainer's ingest keeps each agent's latest report, and
    /// refuses one that claims to be another agent's.
    @Test func driftReachesTheTrainer() throws {
        let fleet = try FleetHarness()
        try fleet.configure(upstream: #", "drift_report_seconds": 0.2"#)
        let deciles = [(41...49).map(Double.init), (46...54).map(Double.init)]
        try writeBytes(fleet.edge.directory.file("models/overheat.vgm"), ScoringTests.bundle(signedBy: fleet.key, inputDeciles: deciles))
        let board = DriftBoard()
        let ingest = try fleet.startIngest(drift: board)
        defer { ingest.stop() }
        let agent = try fleet.edge.startAgent()
        defer { agent.stop() }
        // 1,010 readings of 80 to 99 °C: 101 windows of 10 s, far above the training deciles.
        try publishAll(try fleet.edge.publisher(), (0..<1_010).map { second in
            ("plant/motor/m1/temperature", #"{"seq": \#(second), "ts": \#(1750000000 + second), "value": \#(80 + second % 20)}"#)
        })
        var reports: [DriftReport] = []
        #expect(eventually(timeout: 20) {
            reports = board.drifting(deviceType: "motor", model: "overheat", version: "1.0.0", threshold: 0.25)
            return !reports.isEmpty
        })
        let report = try #require(reports.first)
        #expect(report.agent == "edge-test" && report.windows >= Agent.driftReportMinimumWindows)
        #expect(report.psi.map(\.input) == ["temperature.mean@time:10:10", "temperature.max@time:10:10"])
        #expect(report.maxPSI > 1, "\(report.psi)")
        #expect(board.drifting(deviceType: "motor", model: "overheat", version: "0.9.0", threshold: 0.25).isEmpty)

        // A report on another agent's topic is refused, and the board keeps what it had.
        let forger = try connectedClient(fleet.central.url, id: "forger")
        defer { forger.stop() }
        var forged = report
        forged.psi = forged.psi.map { ($0.input, 0) }
        try forger.publish(topic: "vigil/edge-other/drift/motor", payload: forged.encoded(), qos: 1)
        #expect(forger.waitForPublished(timeout: 10))
        try forger.publish(topic: "vigil/edge-test/drift/motor", payload: Array("not json".utf8), qos: 1)
        #expect(forger.waitForPublished(timeout: 10))
        #expect(eventually(timeout: 10) { ingest.snapshot.refused == 2 })
        #expect(board.drifting(deviceType: "motor", model: "overheat", version: "1.0.0", threshold: 0).map(\.agent) == ["edge-test"])
    }
}

@Suite("Agent health alert threshold")
struct HealthThresholdTests {
    /// The most likely class stays "healthy", but the probability of "hot" rises past the
    /// configured threshold: that is reported too.
    @Test func crossingTheThresholdIsReported() throws {
        let harness = try AgentHarness()
        let key = Ed25519.generate()
        try writeBytes(harness.directory.file("models/overheat.vgm"), ScoringTests.bundle(signedBy: key))
        try harness.writeConfiguration(#""trusted_keys": ["\#(ModelBundle.hex(key.publicKey))"], "health_alert_threshold": 0.3"#)
        // 30..39 °C (p(hot) near 0), then 40..49 (p(hot) about 0.35: still healthy), then a closer.
        let messages = try ScoringTests.score(harness, device: "m2", first: 30, expecting: 2)
        #expect(try harness.query("SELECT predicted FROM predictions ORDER BY id").map { $0[0] } == ["healthy", "healthy"])
        #expect(messages.count == 2, "the first state, then the crossing")
    }
}

@Suite("Agent scoring around a drifting sensor")
struct DriftingSensorTests {
    static let pumpProfile = """
        {"type": "pump", "topics": ["plant/pump/{device}/{sensor}"], "timestamp_unit": "s",
         "sensors": [{"name": "pressure", "unit": "bar", "kind": "value", "min": 0, "max": 100},
                     {"name": "flow", "unit": "m3/h", "kind": "value", "min": 0, "max": 100}],
         "features": [{"sensor": "pressure", "window": {"seconds": 600, "hop_seconds": 600}, "features": ["mean"]},
                      {"sensor": "flow", "window": {"seconds": 600, "hop_seconds": 600}, "features": ["mean"]}]}
        """

    /// A model on pressure and flow relative to the device's first half hour: either one above
    /// its baseline is "hot" (its inputs have growth, which it does not weigh). Its anomaly
    /// spreads are 0.1%, and it judges both sensors for drift.
    static func bundle(signedBy key: Ed25519.KeyPair) throws -> [UInt8] {
        let input = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let output = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let layer = QuantizedDense(inputs: 8, outputs: 2, weights: [0, 0, -100, -100, 0, 0, 0, 0, 0, 0, 100, 100, 0, 0, 0, 0], bias: [200, 0],
                                   rescale: [QuantizedMultiplier(0.01), QuantizedMultiplier(0.01)],
                                   input: input, output: output, activation: .none)
        let window = FeatureWindowSpec.Window.time(seconds: 600, hopSeconds: 600)
        let inputs = [ModelManifest.Input(sensor: "pressure", feature: "mean", window: window),
                      ModelManifest.Input(sensor: "flow", feature: "mean", window: window)]
        let manifest = ModelManifest(
            name: "pump-health", version: "1.0.0", createdAt: "2026-11-28T00:00:00Z", deviceTypes: ["pump"], inputs: inputs,
            context: InputContext(baselineSeconds: 1800, trendSeconds: 7200),
            means: [5, 2, 0, 0, 0, 0, 0, 0], scales: [1, 1, 0.01, 0.01, 1, 1, 1, 1], classes: ["healthy", "hot"],
            layers: [.init(inputs: 8, outputs: 2, activation: .none, input: input, output: output)],
            anomaly: AnomalyScore(firstInput: 2, centers: [0, 0, 0, 0], scales: [0.001, 0.001, 0.001, 0.001],
                                  alarm: AlarmPolicy(threshold: 0.99, consecutive: 100)),
            sensorDrift: SensorDriftCheck(sensors: ["pressure", "flow"], inputs: inputs))
        return ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: key)
    }

    /// Three pumps, a reading a minute for 16 hours: p1's pressure steps up 10% after two hours
    /// while its flow holds (a sensor's drift), p2's pressure and flow both move (the machine),
    /// p3's pressure moves while its flow sensor sticks at one reading. All are "hot" from the
    /// step; p1's pressure is found drifting after 12 hours of moving alone, said in its health
    /// message and the log, and the model then scores p1 with the pressure at healthy ("healthy"
    /// again). p2 stays "hot", with no sensor suspected. p3 is scored throughout with its stuck
    /// flow at healthy (no abstention), stays "hot" (beside a stuck sensor nothing moves alone),
    /// and says the flow is stuck. The metrics count one device with each, and none once both
    /// are repaired; the predictions keep the suspects, for `status`.
    @Test func aSensorMovingAloneIsFoundDriftingAndAStuckOneIsTakenAtHealthy() throws {
        let harness = try AgentHarness()
        let key = Ed25519.generate()
        try writeFile(harness.directory.file("devices/pump.json"), Self.pumpProfile)
        try writeBytes(harness.directory.file("models/pump-health.vgm"), Self.bundle(signedBy: key))
        try harness.writeConfiguration(#""trusted_keys": ["\#(ModelBundle.hex(key.publicKey))"], "metrics_listen": "127.0.0.1:0""#)
        let health = MessageInbox()
        let watcher = try connectedClient(harness.broker.url, id: "health-watcher", subscriptions: ["vigil/edge-test/health/#"], inbox: health)
        defer { watcher.stop() }
        let agent = try harness.startAgent()
        var readings: [(String, String)] = []
        for minute in 0..<(16 * 60) {
            for device in ["p1", "p2", "p3"] {
                let step = minute >= 120 ? 1.1 : 1.0, wobble = Double(minute % 2) * 0.001
                let flow = device == "p3" && minute >= 120 ? 2 : 2 * (device == "p2" ? step : 1) + wobble
                let values = [("pressure", 5 * step + wobble), ("flow", flow)]
                for (index, (sensor, value)) in values.enumerated() {
                    readings.append(("plant/pump/\(device)/\(sensor)",
                                     #"{"seq": \#(2 * minute + index), "ts": \#(1750000000 + 60 * minute), "value": \#(value)}"#))
                }
            }
        }
        try publishAll(try harness.publisher(), readings)
        try harness.waitUntilIngested(readings.count, timeout: 60)
        // One device with a stuck sensor (p3), one with a drifting one (p1), in the metrics.
        let scrape = try harness.scrape(agent) { $0.contains(#"vigil_devices_with_sensor_fault{fault="drift"} 1"#) }
        #expect(scrape.contains(#"vigil_devices_with_sensor_fault{fault="drift"} 1"#), "\(scrape)")
        #expect(scrape.contains(#"vigil_devices_with_sensor_fault{fault="stuck"} 1"#), "\(scrape)")
        // Repairs start both devices afresh: no sensor is suspected until their models judge again.
        try publishAll(try harness.publisher(), ["p1", "p3"].map { ("vigil/maintenance/\($0)", #"{"kind": "repair", "ts": 1750060000}"#) })
        let repaired = try harness.scrape(agent) {
            $0.contains(#"vigil_devices_with_sensor_fault{fault="drift"} 0"#) && $0.contains(#"vigil_devices_with_sensor_fault{fault="stuck"} 0"#)
        }
        #expect(repaired.contains(#"vigil_devices_with_sensor_fault{fault="drift"} 0"#)
                && repaired.contains(#"vigil_devices_with_sensor_fault{fault="stuck"} 0"#), "\(repaired)")
        agent.stop()
        func predictions(_ device: String) throws -> [(end: Double, state: String)] {
            try harness.query("SELECT window_end, predicted FROM predictions WHERE device = '\(device)' ORDER BY window_end").map {
                ($0[0].double ?? 0, $0[1].string ?? "")
            }
        }
        let p1 = try predictions("p1"), p2 = try predictions("p2"), p3 = try predictions("p3")
        let firstHot = try #require(p1.first { $0.state == "hot" }).end
        let healthyAgain = try #require(p1.first { $0.end > firstHot && $0.state == "healthy" }).end
        #expect(healthyAgain - firstHot >= SensorDriftCheck.seconds && healthyAgain - firstHot <= SensorDriftCheck.seconds + 600,
                "\(p1.map { "\($0.end - 1750000000) \($0.state)" })")
        #expect(p1.filter { $0.end >= healthyAgain }.allSatisfy { $0.state == "healthy" })
        #expect(p2.count == p1.count && p2.drop { $0.state != "hot" }.allSatisfy { $0.state == "hot" } && p2.last?.state == "hot")
        #expect(p3.map(\.end) == p1.map(\.end) && p3.filter { $0.end >= firstHot }.allSatisfy { $0.state == "hot" }, "\(p3)")
        #expect(try harness.counter("abstentions") == 0 && harness.counter("constant_windows") > 80)
        // Each prediction keeps the sensors its model took at healthy, and `status` shows the latest.
        let drifted = try harness.query("SELECT min(window_end) FROM predictions WHERE device = 'p1' AND suspect_sensors = 'drift:pressure'")
        #expect(drifted.first?.first?.double == healthyAgain)
        let status = try AgentStatus.read(database: harness.database)
        #expect(status.devices.map(\.suspectSensors) == [["drift:pressure"], [], ["stuck:flow"]])
        #expect(status.text().contains("drift:pressure") && status.json().contains(#""stuck:flow""#), "\(status.text())")

        // Health messages up to p1's drift (p2's, published in the same order, come before it).
        var messages: [String] = []
        func found() -> [String] { messages.filter { $0.contains(#""device":"p1""#) && $0.contains(#""sensor_faults":["drift"]"#) } }
        while found().isEmpty {
            let more = collect(health, count: 1).map(\.payload)
            if more.isEmpty { break }
            messages += more
        }
        let found = found()
        #expect(found.first?.contains(#""suspect_sensors":["pressure"]"#) == true && found.first?.contains(#""state":"healthy""#) == true,
                "\(messages)")
        #expect(!messages.contains { $0.contains(#""device":"p2""#) && $0.contains("drift") }, "\(messages)")
        let p3Stuck = messages.filter { $0.contains(#""device":"p3""#) && $0.contains(#""sensor_faults":["stuck"]"#) }
        #expect(p3Stuck.first?.contains(#""suspect_sensors":["flow"]"#) == true && !messages.contains { $0.contains(#""state":"unknown""#) },
                "\(messages)")
        #expect(harness.log.all.contains { $0.contains("drifts away from its machine") && $0.contains("p1") && $0.contains("pressure") })
    }
}

/// A bundle's degradation clock (`DegradationClock`) on the agent: where it measures the
/// damage's size and rate, its probability of failing stands in the networks' place.
@Suite("Agent scoring with a degradation clock")
struct ClockScoringTests {
    /// A press whose load and vibration report every second, each in 10 s windows.
    static let profile = """
        {"type": "press", "topics": ["plant/press/{device}/{sensor}"], "timestamp_unit": "s",
         "sensors": [{"name": "load", "unit": "kN", "kind": "value", "min": 0, "max": 1000},
                     {"name": "vibration", "unit": "g", "kind": "value", "min": 0, "max": 1000}],
         "features": [{"sensor": "load", "window": {"seconds": 10, "hop_seconds": 10}, "features": ["mean"]},
                      {"sensor": "vibration", "window": {"seconds": 10, "hop_seconds": 10}, "features": ["max"]}]}
        """

    /// Networks that call every window healthy, on the load's and the vibration's windows against
    /// a 30 s baseline, with a clock (`name` "press-clock": the load's rise the size, the
    /// vibration's growth the rate, failing wherever both are measured) or without.
    static func bundle(_ name: String, signedBy key: Ed25519.KeyPair) -> [UInt8] {
        let context = InputContext(baselineSeconds: 30, trendSeconds: 60, level: true)
        let width = context.width(raw: 2)
        let parameters = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let layer = QuantizedDense(inputs: width, outputs: 2, weights: Array(repeating: 0, count: 2 * width), bias: [100, -100],
                                   rescale: [QuantizedMultiplier(0.01), QuantizedMultiplier(0.01)],
                                   input: parameters, output: parameters, activation: .none)
        let window = FeatureWindowSpec.Window.time(seconds: 10, hopSeconds: 10)
        let manifest = ModelManifest(
            name: name, version: "1.0.0", createdAt: "2026-12-07T00:00:00Z", deviceTypes: ["press"],
            inputs: [.init(sensor: "load", feature: "mean", window: window), .init(sensor: "vibration", feature: "max", window: window)],
            context: context, means: Array(repeating: 0, count: width), scales: Array(repeating: 1, count: width), classes: ["healthy", "failing"],
            layers: [.init(inputs: width, outputs: 2, activation: .none, input: parameters, output: parameters)],
            clock: name == "press-clock" ? DegradationClock(size: 0, rates: [1], seconds: 60, weights: [5, 0, 0]) : nil)
        return ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: key)
    }

    /// A healthy 40 s (load 100 and vibration 1, each a tenth higher every other second), then
    /// the load rising by 2% and the vibration by 15% a second. The networks alone call every
    /// window healthy; with the clock, the windows where both have risen over 3 baseline
    /// deviations and the vibration grows are failing, at the clock's probability.
    @Test func theClocksProbabilityStandsWhereItMeasures() throws {
        let harness = try AgentHarness()
        let key = Ed25519.generate()
        try writeFile(harness.directory.file("devices/press.json"), Self.profile)
        for name in ["press-networks", "press-clock"] {
            try writeBytes(harness.directory.file("models/\(name).vgm"), Self.bundle(name, signedBy: key))
        }
        try harness.writeConfiguration(#""trusted_keys": ["\#(ModelBundle.hex(key.publicKey))"]"#)
        let agent = try harness.startAgent()
        var readings: [(String, String)] = []
        for second in 0..<101 {
            let wobble = Double(second % 2) / 10, rising = Double(max(0, second - 40))
            for (sensor, value) in [("load", 100 * (1 + 0.02 * rising) + wobble), ("vibration", exp(0.15 * rising) + wobble)] {
                readings.append(("plant/press/p1/\(sensor)", #"{"seq": \#(second), "ts": \#(1750000000 + second), "value": \#(value)}"#))
            }
        }
        try publishAll(try harness.publisher(), readings)
        try harness.waitUntilIngested(readings.count)
        #expect(eventually(timeout: 10) { (try? harness.query("SELECT count(*) FROM predictions WHERE window_end >= 1750000100"))?.first?.first == .integer(2) })
        agent.stop()
        func predicted(_ model: String) throws -> [String] {
            try harness.query("SELECT predicted FROM predictions WHERE model = '\(model)' ORDER BY window_end").map { "\($0[0])" }
        }
        let networks = try predicted("press-networks"), clocked = try predicted("press-clock")
        #expect(networks.count == clocked.count && networks.count >= 5 && networks.allSatisfy { $0.contains("healthy") }, "\(networks)")
        // The baseline's windows and the first after it, where nothing has risen yet, stay the networks'.
        #expect(clocked.first?.contains("healthy") == true && clocked.suffix(4).allSatisfy { $0.contains("failing") }, "\(clocked)")
        let probabilities = try harness.query("SELECT probabilities FROM predictions WHERE model = 'press-clock' ORDER BY window_end DESC LIMIT 1")
        let failing = 1 / (1 + exp(-5.0))
        #expect("\(probabilities)".contains(String(1 - failing).prefix(8)) && "\(probabilities)".contains(String(failing).prefix(8)), "\(probabilities)")
    }
}
