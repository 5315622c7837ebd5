import Logging
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilObservability

/// Widens or rolls back a canary release on what the canaries report (`ModelReport` on
/// `<agents>/<agent>/model`). When `canaries` agents have installed the version and none
/// refused it or rolled it back, the rule is republished for the whole fleet; at the first
/// failure, the previous bundle (if any) is republished for the whole fleet as a signed rollback.
public enum RolloutWatch {
    public enum Outcome: Sendable, Equatable {
        case widened(installed: Int)
        case rolledBack(agent: String, reason: String)
        case timedOut(installed: Int)
    }

    /// Watches the canaries of `bundle` for up to `timeout` seconds and acts on the outcome.
    public static func watch(bundle: ModelBundle, bytes: [UInt8], previous: (bundle: ModelBundle, bytes: [UInt8])?,
                             canaries: Int, timeout: Double, central: CentralBroker, key: Ed25519.KeyPair,
                             logger: Logger = .silent) throws -> Outcome {
        let topics = central.topics
        let inbox = MessageInbox()
        let client = try MQTTClient(configuration: central.configuration(clientID: "vigil-trainer-rollout",
                                                                         subscriptions: [topics.modelReportFilter]), inbox: inbox)
        client.start()
        defer { client.stop() }
        guard client.waitUntilReady(timeout: 30) else { throw ReleaseError("cannot connect to \(central.url)") }
        var installed = Set<String>()
        var batch = MessageBatch()
        let deadline = MonotonicClock.now() + timeout
        var outcome = Outcome.timedOut(installed: 0)
        watching: while MonotonicClock.now() < deadline {
            guard inbox.take(into: &batch, until: deadline) else { break }
            for index in 0..<batch.count {
                let payload = batch.withMessage(at: index) { _, payload, _ in Array(payload) }
                guard let report = try? ModelReport(bytes: payload), report.model == bundle.manifest.name,
                      report.version == bundle.manifest.version else { continue }
                if report.state != .installed {
                    outcome = .rolledBack(agent: report.agent, reason: "\(report.state.rawValue): \(report.reason)")
                    break watching
                }
                installed.insert(report.agent)
                if installed.count >= canaries {
                    outcome = .widened(installed: installed.count)
                    break watching
                }
            }
        }
        switch outcome {
        case .widened:
            try Release.publish(Release.messages(for: bundle, bytes: bytes, rollout: .canary(1), topics: topics, key: key,
                                                 releasedAt: WallClock.now()), central: central)
            logger.notice("canaries installed it: released to the whole fleet",
                          metadata: ["model": "\(bundle.manifest.name)", "version": "\(bundle.manifest.version)", "canaries": "\(installed.count)"])
        case .rolledBack(let agent, let reason):
            if let previous {
                try Release.publish(Release.messages(for: previous.bundle, bytes: previous.bytes, rollout: .canary(1), rollback: true,
                                                     topics: topics, key: key, releasedAt: WallClock.now()),
                                    central: central)
            }
            logger.warning("a canary failed: rolled back", metadata: ["model": "\(bundle.manifest.name)", "version": "\(bundle.manifest.version)",
                                                                   "agent": "\(agent)", "reason": "\(reason)"])
        case .timedOut:
            outcome = .timedOut(installed: installed.count)
            logger.warning("too few canaries reported in time: left as it is",
                           metadata: ["model": "\(bundle.manifest.name)", "version": "\(bundle.manifest.version)",
                                      "installed": "\(installed.count)", "canaries": "\(canaries)", "timeout": "\(timeout)"])
        }
        return outcome
    }
}
