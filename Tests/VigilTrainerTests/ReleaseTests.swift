import Testing
import VigilCore
import VigilInference
import VigilMQTT
import VigilTestSupport
import VigilTrainer

@Suite("Release to the fleet")
struct ReleaseTests {
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
        let messages = Release.messages(for: bundle, bytes: bytes, rollout: .canary(0.1), prefix: "vigil/release", releasedAt: 1_750_000_000)
        try Release.publish(messages, broker: BrokerURL(parsing: broker.url), clientID: "release-test")

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
        let rule = try JSONParser.parse(try #require(received["vigil/release/cooling-fan/rule"]))
        #expect(rule["canary_share"] == .number(0.1))
        #expect(rule["sha256"] == .string(bundle.digest))
    }
}
