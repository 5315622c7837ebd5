import VigilCore
import VigilInference
import VigilMQTT

/// Widens or rolls back a canary release on what the canaries report. Agents report on
/// `vigil/<agent>/model`: `{"agent": ..., "model": ..., "version": ..., "state": "installed" |
/// "failed", "reason": ...}`. When `canaries` agents have installed the version and none failed,
/// the rule is republished for the whole fleet; at the first failure, the previous bundle (if
/// any) is republished for the whole fleet instead.
public enum RolloutWatch {
    public enum Outcome: Sendable, Equatable {
        case widened(installed: Int)
        case rolledBack(agent: String, reason: String)
        case timedOut(installed: Int)
    }

    public static let statusFilter = "vigil/+/model"

    /// Watches the canaries of `bundle` for up to `timeout` seconds and acts on the outcome.
    public static func watch(bundle: ModelBundle, bytes: [UInt8], previous: (bundle: ModelBundle, bytes: [UInt8])?,
                             canaries: Int, timeout: Double, broker: BrokerURL, prefix: String = "vigil/release",
                             log: @escaping @Sendable (String) -> Void = { _ in }) throws -> Outcome {
        let inbox = MessageInbox()
        let client = try MQTTClient(configuration: MQTTConfiguration(url: broker, clientID: "vigil-trainer-rollout",
                                                                     subscriptions: [.init(statusFilter, qos: 1)]), inbox: inbox)
        client.start()
        defer { client.stop() }
        guard client.waitUntilReady(timeout: 30) else { throw ConfigurationError(file: "\(broker)", field: "", problem: "cannot connect") }
        var installed = Set<String>()
        var batch = MessageBatch()
        let deadline = MonotonicClock.now() + timeout
        var outcome = Outcome.timedOut(installed: 0)
        watching: while MonotonicClock.now() < deadline {
            guard inbox.take(into: &batch, until: deadline) else { break }
            for index in 0..<batch.count {
                let payload = batch.withMessage(at: index) { _, payload, _ in Array(payload) }
                guard let status = try? JSONParser.parse(payload),
                      status["model"] == .string(bundle.manifest.name), status["version"] == .string(bundle.manifest.version),
                      case .string(let agent)? = status["agent"], case .string(let state)? = status["state"] else { continue }
                if state == "failed" {
                    let reason: String = if case .string(let text)? = status["reason"] { text } else { "no reason given" }
                    outcome = .rolledBack(agent: agent, reason: reason)
                    break watching
                }
                if state == "installed" { installed.insert(agent) }
                if installed.count >= canaries {
                    outcome = .widened(installed: installed.count)
                    break watching
                }
            }
        }
        switch outcome {
        case .widened:
            try Release.publish(Release.messages(for: bundle, bytes: bytes, rollout: .canary(1), prefix: prefix, releasedAt: WallClock.now()),
                                broker: broker, clientID: "vigil-trainer-release")
            log("\(bundle.manifest.name) \(bundle.manifest.version): \(installed.count) canaries installed it; released to the whole fleet")
        case .rolledBack(let agent, let reason):
            if let previous {
                try Release.publish(Release.messages(for: previous.bundle, bytes: previous.bytes, rollout: .canary(1), prefix: prefix,
                                                     releasedAt: WallClock.now()), broker: broker, clientID: "vigil-trainer-release")
            }
            log("\(bundle.manifest.name) \(bundle.manifest.version): canary \(agent) failed (\(reason)); rolled back")
        case .timedOut:
            outcome = .timedOut(installed: installed.count)
            log("\(bundle.manifest.name) \(bundle.manifest.version): \(installed.count) of \(canaries) canaries within \(timeout) s; left as it is")
        }
        return outcome
    }
}
