import Testing
#if canImport(Glibc)
import Glibc
#endif
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilTestSupport
import VigilTrainer

@Suite("Release to the fleet")
struct ReleaseTests {
    static func bundle(version: String, key: Ed25519.KeyPair) -> (ModelBundle, [UInt8]) {
        let parameters = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let layer = QuantizedDense(inputs: 1, outputs: 2, weights: [100, -100], bias: [0, 0],
                                   rescale: [QuantizedMultiplier(0.01), QuantizedMultiplier(0.01)],
                                   input: parameters, output: parameters, activation: .none)
        let manifest = ModelManifest(
            name: "fan-health", version: version, createdAt: "2026-11-27T00:00:00Z", deviceTypes: ["cooling-fan"],
            inputs: [.init(sensor: "temperature", feature: "mean", window: .time(seconds: 3600, hopSeconds: 1800))],
            means: [38], scales: [2], classes: ["healthy", "failing"],
            layers: [.init(inputs: 1, outputs: 2, activation: .none, input: parameters, output: parameters)])
        let bytes = ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: key)
        return (try! ModelBundle(bytes: bytes, trustedKeys: [key.publicKey]), bytes)
    }

    /// Canaries report; two installs widen the release to the whole fleet, a failure rolls back
    /// to the previous model.
    @Test(arguments: [false, true])
    func canariesWidenOrRollBack(failing: Bool) throws {
        let broker = try TestBroker()
        let key = Ed25519.generate()
        let (old, oldBytes) = Self.bundle(version: "1.0.0", key: key)
        let (new, newBytes) = Self.bundle(version: "1.1.0", key: key)
        let url = CentralBroker(url: try BrokerURL(parsing: broker.url))
        try Release.publish(Release.messages(for: new, bytes: newBytes, rollout: .canary(0.1), topics: FleetTopics(), key: key,
                                             releasedAt: 1), central: url)
        let canaries = try connectedClient(broker.url, id: "canaries")
        let reporter = NativeThread(name: "canaries") {
            usleep(500_000)
            for (agent, state) in [("edge-1", ModelReport.State.installed), ("edge-2", failing ? .rolledBack : .installed)] {
                let report = ModelReport(agent: agent, deviceType: "cooling-fan", model: "fan-health", version: "1.1.0", state: state,
                                         reason: "checksum")
                try? canaries.publish(topic: "vigil/\(agent)/model", payload: report.encoded())
            }
        }
        let outcome = try RolloutWatch.watch(bundle: new, bytes: newBytes, previous: (old, oldBytes), canaries: 2, timeout: 10, central: url,
                                             key: key)
        reporter.join()
        canaries.stop()
        #expect(outcome == (failing ? .rolledBack(agent: "edge-2", reason: "rolled_back: checksum") : .widened(installed: 2)))
        // What a late agent now finds on the release topic.
        let inbox = MessageInbox()
        let late = try connectedClient(broker.url, id: "late", subscriptions: ["vigil/release/cooling-fan/rule"], inbox: inbox)
        let rule = try ReleaseRule(bytes: Array(try #require(collect(inbox, count: 1).first).payload.utf8), trustedKeys: [key.publicKey])
        late.stop()
        #expect(rule.rollout == .canary(1))
        #expect(rule.version == (failing ? "1.0.0" : "1.1.0"))
        #expect(rule.rollback == failing)
    }

    /// A released model is retained on the broker: a subscriber that comes later receives the
    /// bundle, which verifies, and the rollout rule.
    @Test func aLateSubscriberReceivesAVerifiableRelease() throws {
        let broker = try TestBroker()
        let key = Ed25519.generate()
        let parameters = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let layer = QuantizedDense(inputs: 1, outputs: 2, weights: [100, -100], bias: [0, 0],
                                   rescale: [QuantizedMultiplier(0.01), QuantizedMultiplier(0.01)],
                                   input: parameters, output: parameters, activation: .none)
        let manifest = ModelManifest(
            name: "fan-health", version: "2.0.0", createdAt: "2026-11-27T00:00:00Z", deviceTypes: ["cooling-fan"],
            inputs: [.init(sensor: "temperature", feature: "mean", window: .time(seconds: 3600, hopSeconds: 1800))],
            means: [38], scales: [2], classes: ["healthy", "failing"],
            layers: [.init(inputs: 1, outputs: 2, activation: .none, input: parameters, output: parameters)])
        let bytes = ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: key)
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [key.publicKey])
        let messages = Release.messages(for: bundle, bytes: bytes, rollout: .canary(0.1), topics: FleetTopics(), key: key,
                                        releasedAt: 1_750_000_000)
        try Release.publish(messages, central: CentralBroker(url: BrokerURL(parsing: broker.url)))

        let inbox = MessageInbox(maxPayloadBytes: 1 << 20)
        let agent = try connectedClient(broker.url, id: "late-agent", subscriptions: ["vigil/release/cooling-fan/#"], inbox: inbox)
        var received: [String: [UInt8]] = [:]
        var batch = MessageBatch()
        let deadline = MonotonicClock.now() + 10
        while received.count < 2 && MonotonicClock.now() < deadline {
            guard inbox.take(into: &batch, until: MonotonicClock.now() + 0.2) else { break }
            for index in 0..<batch.count {
                batch.withMessage(at: index) { topic, payload, entry in
                    #expect(entry.retained)
                    received[String(decoding: topic, as: UTF8.self)] = Array(payload)
                }
            }
        }
        agent.stop()
        let released = try #require(received["vigil/release/cooling-fan/bundle"])
        #expect(try ModelBundle(bytes: released, trustedKeys: [key.publicKey]).manifest.version == "2.0.0")
        let rule = try ReleaseRule(bytes: try #require(received["vigil/release/cooling-fan/rule"]), trustedKeys: [key.publicKey])
        #expect(rule.rollout == .canary(0.1))
        #expect(rule.sha256 == bundle.digest)
    }
}

@Suite("Trainer command line")
struct TrainerCommandTests {
    /// A misspelt flag or a value that is not a number is refused as bad usage (64), never
    /// replaced by a default; a failure to do the work exits 1.
    @Test func typosAndBadValuesAreRefused() throws {
        let devices = String(#filePath.split(separator: "/Tests/").first!) + "/devices"
        let required = ["train", "--agent-db", "missing.db", "--devices", devices, "--type", "induction-motor", "--key", "missing.key",
                        "--out", "o"]
        #expect(TrainerCommand.run(required + ["--hiden", "32"]) == 64)
        #expect(TrainerCommand.run(required + ["--horizon-hours", "abc"]) == 64)
        #expect(TrainerCommand.run(required + ["--hidden", "0"]) == 64)
        #expect(TrainerCommand.run(required + ["--search", "--hidden", "16"]) == 64)
        #expect(TrainerCommand.run(required + ["--search-network-trend-hours", "24"]) == 64, "clocks to search without a search")
        #expect(TrainerCommand.run(required + ["--search", "--search-network-trend-hours", "24", "0"]) == 64)
        #expect(TrainerCommand.run(required + ["--learning-rate", "2"]) == 64)
        #expect(TrainerCommand.run(required + ["--clock-hours", "-24"]) == 64)
        #expect(TrainerCommand.run(["release", "--broker", "mqtt://127.0.0.1:1", "--bundle", "b", "--key", "k"]) == 64)
        #expect(TrainerCommand.run(["release", "--broker", "http://x", "--bundle", "b", "--key", "k", "--canary", "0.1"]) == 64)
        #expect(TrainerCommand.run(["keygen"]) == 64)
        #expect(TrainerCommand.run(required) == 1, "no such key file: a failure, not a usage error")
    }

    /// The private key is 0600 from its creation, the public key readable; both hex of 32 bytes
    /// that belong together.
    @Test func keygenWritesAPrivateKeyOthersCannotRead() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let prefix = directory.file("trainer")
        #expect(TrainerCommand.run(["keygen", "--out", prefix]) == 0)
        var info = stat()
        #expect(stat(prefix + ".key", &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(prefix + ".pub", &info) == 0 && info.st_mode & 0o777 == 0o644)
        let privateKey = try Ed25519.key(hexFile: prefix + ".key")
        let publicKey = try Ed25519.key(hexFile: prefix + ".pub")
        #expect(Ed25519.publicKey(forPrivateKey: privateKey) == publicKey)
    }
}
