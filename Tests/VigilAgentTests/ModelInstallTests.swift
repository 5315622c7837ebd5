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

@Suite("Model updates over the central broker", .serialized)
struct ModelInstallTests {
    /// A two-class model of the motor's temperature windows, as `ScoringTests.bundle`, with a
    /// chosen input feature and a bias that can make it say "hot" whatever it sees.
    /// With `vibration`, its second input is the vibration's rms instead of the temperature's max.
    static func bundle(signedBy key: Ed25519.KeyPair, version: String, feature: String = "mean", alwaysHot: Bool = false,
                       deviceType: String = "motor", vibration: Bool = false) -> [UInt8] {
        let parameters = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let layer = QuantizedDense(inputs: 2, outputs: 2, weights: alwaysHot ? [0, 0, 0, 0] : [-100, -100, 100, 100],
                                   bias: alwaysHot ? [0, 2000] : [0, 0],
                                   rescale: [QuantizedMultiplier(0.01), QuantizedMultiplier(0.01)],
                                   input: parameters, output: parameters, activation: .none)
        let window = FeatureWindowSpec.Window.time(seconds: 10, hopSeconds: 10)
        let manifest = ModelManifest(
            name: "overheat", version: version, createdAt: "2026-11-27T00:00:00Z", deviceTypes: [deviceType],
            inputs: [.init(sensor: "temperature", feature: feature, window: window),
                     vibration ? .init(sensor: "vibration", feature: "rms", window: .count(size: 256, hop: 256))
                               : .init(sensor: "temperature", feature: "max", window: window)],
            means: [45, 50], scales: [5, 5], classes: ["healthy", "hot"],
            layers: [.init(inputs: 2, outputs: 2, activation: .none, input: parameters, output: parameters)])
        return ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: key)
    }

    /// The retained messages of a release, as `vigil-trainer release` publishes them.
    static func release(_ bytes: [UInt8], _ fleet: FleetHarness, rollout: ReleaseRule.Rollout = .canary(1), rollback: Bool = false,
                        key: Ed25519.KeyPair? = nil) throws -> [(topic: String, payload: [UInt8])] {
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [fleet.key.publicKey])
        return Release.messages(for: bundle, bytes: bytes, rollout: rollout, rollback: rollback, topics: FleetTopics(),
                                key: key ?? fleet.key, releasedAt: WallClock.now())
    }

    static func publish(_ messages: [(topic: String, payload: [UInt8])], _ fleet: FleetHarness) throws {
        try Release.publish(messages, central: CentralBroker(url: BrokerURL(parsing: fleet.central.url)))
    }

    /// A client on the central broker that receives the agent's model reports.
    static func watchReports(_ fleet: FleetHarness) throws -> (MessageInbox, MQTTClient) {
        let reports = MessageInbox()
        return (reports, try connectedClient(fleet.central.url, id: "report-watcher", subscriptions: ["vigil/edge-test/model"], inbox: reports))
    }

    /// An agent running `version` from its models folder, which installs `bundle` from a
    /// release; returns the report watcher and the agent.
    static func install(_ bundle: [UInt8], over version: String, _ fleet: FleetHarness) throws -> (MessageInbox, MQTTClient, Agent) {
        try writeBytes(fleet.edge.directory.file("models/overheat.vgm"), Self.bundle(signedBy: fleet.key, version: version))
        let (reports, watcher) = try Self.watchReports(fleet)
        let agent = try fleet.edge.startAgent()
        try Self.publish(Self.release(bundle, fleet), fleet)
        #expect(try Self.report(reports).state == .installed)
        return (reports, watcher, agent)
    }

    /// Waits for the agent's next model report.
    static func report(_ inbox: MessageInbox) throws -> ModelReport {
        let message = try #require(collect(inbox, count: 1, timeout: 15).first, "no model report")
        return try ModelReport(bytes: Array(message.payload.utf8))
    }

    static func versions(_ fleet: FleetHarness) throws -> [String] {
        try fleet.edge.query("SELECT version FROM predictions ORDER BY id").map { $0[0].string ?? "" }
    }

    /// A release reaches a running agent: it verifies and installs it without a restart, the
    /// next windows are scored by the new version, the file is in the models folder, and the
    /// status and the report say so.
    @Test func aReleaseIsInstalledWithoutARestart() throws {
        let fleet = try FleetHarness()
        try writeBytes(fleet.edge.directory.file("models/overheat.vgm"), Self.bundle(signedBy: fleet.key, version: "1.0.0"))
        let (reports, watcher) = try Self.watchReports(fleet)
        let agent = try fleet.edge.startAgent()
        let publisher = try fleet.edge.publisher()
        try publishAll(publisher, FleetHarness.readings(devices: ["m1"], seconds: 0..<21))
        try fleet.edge.waitUntilIngested(21)

        try Self.publish(Self.release(Self.bundle(signedBy: fleet.key, version: "1.1.0"), fleet), fleet)
        let report = try Self.report(reports)
        #expect(report == ModelReport(agent: "edge-test", deviceType: "motor", model: "overheat", version: "1.1.0", state: .installed))
        try publishAll(publisher, FleetHarness.readings(devices: ["m1"], seconds: 21..<41))
        try fleet.edge.waitUntilIngested(41)
        agent.stop()
        publisher.stop()
        watcher.stop()
        #expect(try Self.versions(fleet) == ["1.0.0", "1.0.0", "1.1.0", "1.1.0"])
        let installed = try ModelBundle(bytes: FileSystem.read(fleet.edge.directory.file("models/motor.vgm")), trustedKeys: [fleet.key.publicKey])
        #expect(installed.manifest.version == "1.1.0")
        let model = try #require(AgentStatus.read(database: fleet.edge.database).models.first)
        #expect(model.name == "overheat" && model.version == "1.1.0" && model.state == "running")
        #expect(model.lastInstall?.state == "installed")
        // A restart runs the installed version, and the retained release is not installed twice.
        let again = try fleet.edge.startAgent()
        again.stop()
        #expect(try fleet.edge.integer("SELECT count(*) FROM model_installs") == 1)
        #expect(fleet.edge.log.all.contains { $0.contains("msg=\"model scores\" device_type=motor model=overheat version=1.1.0") })
    }

    /// Tampered, untrusted, unsigned, downgraded and wrong-feature releases are refused with
    /// their reasons and reported; the running model stays. A signed rollback may go down.
    @Test func badReleasesAreRefusedWithTheirReasons() throws {
        let fleet = try FleetHarness()
        try writeBytes(fleet.edge.directory.file("models/overheat.vgm"), Self.bundle(signedBy: fleet.key, version: "1.1.0"))
        let (reports, watcher) = try Self.watchReports(fleet)
        let agent = try fleet.edge.startAgent()
        func refusal(_ messages: [(topic: String, payload: [UInt8])]) throws -> String {
            try Self.publish(messages, fleet)
            let report = try Self.report(reports)
            #expect(report.state == .refused)
            return report.reason
        }
        // Tampered: one byte of the bundle changed after the rule was made.
        var tampered = try Self.release(Self.bundle(signedBy: fleet.key, version: "1.2.0"), fleet)
        tampered[0].payload[tampered[0].payload.count / 2] ^= 0x40
        #expect(try refusal(tampered).contains("no bundle with the rule's sha256"))
        // A rule signed by a key the agent does not trust.
        #expect(try refusal(Self.release(Self.bundle(signedBy: fleet.key, version: "1.3.0"), fleet, key: Ed25519.generate()))
            .contains("untrusted_signer"))
        // A rule without its signature.
        var unsigned = try Self.release(Self.bundle(signedBy: fleet.key, version: "1.4.0"), fleet)
        let text = String(decoding: unsigned[1].payload, as: UTF8.self)
        unsigned[1].payload = Array((String(text[..<text.firstIndex(of: "\"")!]) + text.split(separator: ",\"signature\"")[0].dropFirst() + "}").utf8)
        #expect(try refusal(unsigned).contains("unsigned"))
        // A lower version without a signed rollback rule.
        #expect(try refusal(Self.release(Self.bundle(signedBy: fleet.key, version: "1.0.0"), fleet)).contains("downgrade from 1.1.0 to 1.0.0"))
        // Inputs the profile does not compute.
        #expect(try refusal(Self.release(Self.bundle(signedBy: fleet.key, version: "1.5.0", feature: "kurtosis"), fleet))
            .contains("bundle refused"))
        // A signed rollback may install a lower version.
        try Self.publish(Self.release(Self.bundle(signedBy: fleet.key, version: "1.0.0"), fleet, rollback: true), fleet)
        #expect(try Self.report(reports).state == .installed)
        agent.stop()
        watcher.stop()
        #expect(try fleet.edge.query("SELECT state FROM model_installs ORDER BY id").map { $0[0].string ?? "" }
            == ["refused", "refused", "refused", "refused", "refused", "installed"])
        #expect(try AgentStatus.read(database: fleet.edge.database).models.first?.version == "1.0.0")
    }

    /// A model that says "hot" for every window fails its probation: the agent rolls back to
    /// the previous model by itself, says why, and scores with the previous one again.
    @Test func aFailingModelIsRolledBack() throws {
        let fleet = try FleetHarness()
        let (reports, watcher, agent) = try Self.install(Self.bundle(signedBy: fleet.key, version: "2.0.0", alwaysHot: true),
                                                         over: "1.0.0", fleet)
        let publisher = try fleet.edge.publisher()
        let devices = ["m1", "m2", "m3"]
        try publishAll(publisher, FleetHarness.readings(devices: devices, seconds: 0..<71))
        let report = try Self.report(reports)
        #expect(report.state == .rolledBack)
        #expect(report.reason == "every one of its first 20 windows predicted trouble")
        try publishAll(publisher, FleetHarness.readings(devices: devices, seconds: 71..<91))
        try fleet.edge.waitUntilIngested(91 * 3)
        agent.stop()
        publisher.stop()
        watcher.stop()
        let versions = try Self.versions(fleet)
        #expect(versions.prefix(20) == ArraySlice(repeating: "2.0.0", count: 20))
        #expect(versions.last == "1.0.0")
        #expect(try AgentStatus.read(database: fleet.edge.database).models.first?.lastInstall?.state == "rolled_back")
        #expect(access(fleet.edge.directory.file("models/motor.vgm"), F_OK) != 0, "the failed bundle is gone from disk")
    }

    /// A model whose inputs never arrive together (its devices send no vibration) scores almost
    /// none of the windows it is due: it is rolled back, and the agent says why.
    @Test func aModelThatCannotScoreIsRolledBack() throws {
        let fleet = try FleetHarness()
        let (reports, watcher, agent) = try Self.install(Self.bundle(signedBy: fleet.key, version: "2.0.0", vibration: true),
                                                         over: "1.0.0", fleet)
        let publisher = try fleet.edge.publisher()
        try publishAll(publisher, FleetHarness.readings(devices: ["m1", "m2", "m3", "m4"], seconds: 0..<120))
        let report = try Self.report(reports)
        agent.stop()
        publisher.stop()
        watcher.stop()
        #expect(report.state == .rolledBack)
        #expect(report.reason == "it scored 0 of the 40 windows it was due (its inputs do not arrive together)")
        #expect(try Self.versions(fleet).allSatisfy { $0 == "1.0.0" })
        #expect(try fleet.edge.integer("SELECT count(*) FROM predictions") > 0, "the previous model scores again")
    }

    /// Canary membership comes from a stable hash of the agent id: an agent outside the share
    /// stays outside across restarts; a share that covers it installs (into a models folder
    /// the agent makes itself).
    @Test func canaryMembershipIsStableAcrossRestarts() throws {
        let fleet = try FleetHarness()
        rmdir(fleet.edge.directory.file("models"))
        let position = ReleaseRule.canaryPosition(agent: "edge-test")
        let (reports, watcher) = try Self.watchReports(fleet)
        try Self.publish(Self.release(Self.bundle(signedBy: fleet.key, version: "1.0.0"), fleet, rollout: .canary(position * 0.99)), fleet)
        for start in 1...2 {
            let agent = try fleet.edge.startAgent()
            #expect(eventually { fleet.edge.log.all.filter { $0.contains("not for this agent's wave") }.count == start })
            agent.stop()
        }
        #expect(fleet.edge.log.all.filter { $0.contains("not for this agent's wave") }.count == 2)
        let agent = try fleet.edge.startAgent()
        try Self.publish(Self.release(Self.bundle(signedBy: fleet.key, version: "1.0.0"), fleet, rollout: .canary(min(1, position + 0.01))), fleet)
        #expect(try Self.report(reports).state == .installed)
        agent.stop()
        watcher.stop()
        #expect(access(fleet.edge.directory.file("models/motor.vgm"), R_OK) == 0)
        // Across a fleet, a share of 0.3 picks about 30% of agents.
        let picked = (0..<1000).filter { ReleaseRule.canaryPosition(agent: "edge-\($0)") < 0.3 }.count
        #expect((250...350).contains(picked))
    }
}
