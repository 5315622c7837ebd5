#if canImport(Glibc)
import Glibc
#endif
import Logging
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilObservability
import VigilStore

/// Installs released models on the writer thread, between two feature windows: a signed rule
/// and its bundle arrive as retained messages; the bundle is installed only if its SHA-256 is
/// the rule's, the rule is signed by a trusted key, the agent is in the rule's wave, the version
/// is not lower than the one running (unless the rule is a signed rollback), and the profile
/// computes its inputs.
///
/// An install is a sequence of states a crash leaves recoverable: verify, write the bundle
/// atomically (`<models>/<type>.vgm`, the one it replaces kept as `<type>.vgm.previous`), read
/// it back, swap it in, record it; then it is on probation for its first windows, and rolled
/// back by itself if it fails them. Every result is recorded in `model_installs` and reported on
/// `<agents>/<agent>/model` after the commit that records it.
final class ModelInstaller {
    /// Predictions a new model must pass before it is trusted.
    static let probationWindows = 20
    /// A median window slower than this over the probation is a failure (the int8 models run
    /// in microseconds; one window the OS held up is not the model's fault).
    static let maxLatencySeconds = 0.005

    private struct Probation {
        let model: String
        let version: String
        let sha256: String
        let previous: ModelCatalog.Installed?
        /// The feature spec whose windows the model scores.
        let trigger: Int
        /// Windows of that spec stored, windows the model scored, and how many it called trouble.
        var due = 0
        var seen = 0
        var troubled = 0
        /// How long each window the model scored took.
        var latencies: [Double] = []
        var medianLatency: Double { latencies.isEmpty ? 0 : latencies.sorted()[latencies.count / 2] }
    }

    private let transaction: WriterTransaction
    private var database: Database { transaction.store.database }
    private unowned let ingestor: Ingestor
    private let profiles: [DeviceProfile]
    private let folder: String
    private let trustedKeys: [[UInt8]]
    private let agent: String
    private let topics: FleetTopics
    private let client: MQTTClient
    private let metrics: AgentMetrics
    private let logger: Logger
    /// Per profile, the latest verified rule and whether it was acted on (`mismatched`: refused
    /// for want of its bundle, which may still come).
    private var rules: [Int: (rule: ReleaseRule, state: RuleState)] = [:]
    private enum RuleState { case pending, mismatched, done }
    private var bundles: [Int: [UInt8]] = [:]
    private var probation: [Int: Probation] = [:]

    init(transaction: WriterTransaction, ingestor: Ingestor, profiles: [DeviceProfile], folder: String, trustedKeys: [[UInt8]],
         agent: String, topics: FleetTopics, client: MQTTClient, metrics: AgentMetrics, logger: Logger) throws(SQLiteError) {
        self.transaction = transaction
        self.ingestor = ingestor
        self.profiles = profiles
        self.folder = folder
        self.trustedKeys = trustedKeys
        self.agent = agent
        self.topics = topics
        self.client = client
        self.metrics = metrics
        self.logger = logger
        // Releases are written here: the folder may not exist yet on a fresh agent.
        if mkdir(folder, 0o755) == 0 { logger.notice("created the models folder", metadata: ["folder": "\(folder)"]) }
        ingestor.windowStored = { [unowned self] profile, spec, observation in check(profile, spec, observation) }
        // An install whose record was rolled back is still on disk and in memory: the retained
        // rule arriving again records it; nothing else derived from the transaction remains.
        transaction.onRollback { [unowned self] in probation.removeAll() }
        try recordRunning()
    }

    /// Writes which models run per device type, as loaded at start.
    private func recordRunning() throws(SQLiteError) {
        try transaction.begin()
        try database.execute("DELETE FROM running_models")
        for (index, profile) in profiles.enumerated() {
            for model in ingestor.scoring.catalog.models[index] { try saveRunning(profile.type, model.bundle) }
        }
    }

    /// Takes a message on a release topic.
    func handle(topic: String, payload: [UInt8], size: Int) throws(SQLiteError) {
        guard let release = topics.release(of: topic), let profile = profiles.firstIndex(where: { $0.type == release.deviceType }),
              !payload.isEmpty else { return }
        let type = release.deviceType
        guard size == payload.count else {
            return try refuse(profile, model: "?", version: "?", sha256: "",
                              "the \(release.isRule ? "rule" : "bundle") of \(size) bytes exceeds upstream.max_bundle_size")
        }
        if release.isRule {
            do {
                let rule = try ReleaseRule(bytes: payload, trustedKeys: trustedKeys)
                guard rule.deviceType == type else {
                    return try refuse(profile, model: rule.model, version: rule.version, sha256: rule.sha256,
                                      "the rule on \(type)'s topic is for \(rule.deviceType)")
                }
                rules[profile] = (rule, .pending)
            } catch {
                rules[profile] = nil
                return try refuse(profile, model: "?", version: "?", sha256: "", "release rule refused: \(error)")
            }
        } else {
            bundles[profile] = payload
        }
        try consider(profile, ruleArrived: release.isRule)
    }

    /// Installs the rule's bundle if every check passes. Either may arrive first (the trainer
    /// publishes the bundle first; the agent subscribes to bundles before rules, so retained ones
    /// come in that order too): a rule whose bundle differs is refused, and installed after all
    /// if its bundle then arrives.
    private func consider(_ profile: Int, ruleArrived: Bool) throws(SQLiteError) {
        guard let (rule, state) = rules[profile], state != .done, let bytes = bundles[profile] else { return }
        guard digest(bytes) == rule.sha256 else {
            if ruleArrived {
                rules[profile]?.state = .mismatched
                try refuse(profile, model: rule.model, version: rule.version, sha256: rule.sha256,
                           "no bundle with the rule's sha256 \(rule.sha256) (the bundle received is \(digest(bytes) ?? "not a valid bundle"))")
            }
            return
        }
        rules[profile]?.state = .done
        let type = profiles[profile].type
        guard rule.includes(agent: agent, devices: ingestor.devices(ofProfile: profile)) else {
            logger.info("release not for this agent's wave", metadata: ["device_type": "\(type)", "model": "\(rule.model)",
                                                                         "version": "\(rule.version)"])
            return
        }
        // A retained release arrives again on every reconnect and restart: what runs stays.
        if try database.scalar("SELECT 1 FROM running_models WHERE device_type = ? AND sha256 = ?", [.text(type), .text(rule.sha256)]) != nil {
            return
        }
        let bundle: ModelBundle
        let installed: ModelCatalog.Installed
        do {
            bundle = try ModelBundle(bytes: bytes, trustedKeys: trustedKeys)
            installed = try ModelCatalog.Installed(bundle: bundle, profile: profiles[profile])
        } catch {
            return try refuse(profile, model: rule.model, version: rule.version, sha256: rule.sha256, "bundle refused: \(error)")
        }
        let manifest = bundle.manifest
        guard manifest.name == rule.model, manifest.version == rule.version else {
            return try refuse(profile, model: rule.model, version: rule.version, sha256: rule.sha256,
                              "the bundle is \(manifest.name) \(manifest.version), the rule releases \(rule.model) \(rule.version)")
        }
        let current = ingestor.scoring.catalog.models[profile].first { $0.bundle.manifest.name == manifest.name }
        if let running = current?.bundle.manifest, !rule.rollback,
           manifest.versionNumbers.lexicographicallyPrecedes(running.versionNumbers) {
            return try refuse(profile, model: rule.model, version: rule.version, sha256: rule.sha256,
                              "downgrade from \(running.version) to \(manifest.version) without a signed rollback rule")
        }
        do {
            try write(bytes, type: type)
        } catch {
            return try refuse(profile, model: rule.model, version: rule.version, sha256: rule.sha256, "\(error)")
        }
        try ingestor.install(installed, profile: profile)
        try saveRunning(type, bundle)
        probation[profile] = Probation(model: manifest.name, version: manifest.version, sha256: rule.sha256, previous: current,
                                       trigger: installed.trigger)
        try record(profile, model: manifest.name, version: manifest.version, sha256: rule.sha256, state: .installed, reason: "")
        logger.notice("model installed", metadata: ["device_type": "\(type)", "model": "\(manifest.name)", "version": "\(manifest.version)",
                                                   "previous_version": "\(current?.bundle.manifest.version ?? "none")"])
    }

    /// Writes the bundle as `<type>.vgm`, keeping the one it replaces, and reads it back.
    private func write(_ bytes: [UInt8], type: String) throws {
        let path = "\(folder)/\(type).vgm"
        if let old = try? FileSystem.read(path) { try FileSystem.writeAtomically(old, to: path + ".previous") }
        try FileSystem.writeAtomically(bytes, to: path)
        let back = try FileSystem.read(path)
        _ = try ModelBundle(bytes: back, trustedKeys: trustedKeys)
    }

    /// The health checks of a model on probation, after each feature window: a non-finite
    /// output fails it at once; so does predicting trouble for every one of its first windows,
    /// taking over the limit for the median of them, or scoring under a quarter of the windows
    /// it is due (its inputs do not arrive together); a window a device's baseline took is not due.
    private func check(_ profile: Int, _ spec: Int, _ observation: ModelScoring.Observation) {
        guard var watch = probation[profile] else { return }
        if spec == watch.trigger && !observation.learning.contains(watch.model) { watch.due += 1 }
        var failure: String?
        for prediction in observation.predictions where prediction.model == watch.model && prediction.version == watch.version {
            watch.seen += 1
            if prediction.trouble >= 0.5 { watch.troubled += 1 }
            watch.latencies.append(prediction.latencySeconds)
            if !prediction.probabilities.allSatisfy(\.isFinite) {
                failure = "non-finite output \(prediction.probabilities)"
            }
        }
        if failure == nil, watch.seen >= Self.probationWindows, watch.troubled == watch.seen {
            failure = "every one of its first \(watch.seen) windows predicted trouble"
        } else if failure == nil, watch.seen >= Self.probationWindows, watch.medianLatency > Self.maxLatencySeconds {
            failure = "its median window took \(Int(watch.medianLatency * 1e6)) us (limit \(Int(Self.maxLatencySeconds * 1e6)) us)"
        } else if failure == nil, watch.due >= 2 * Self.probationWindows, watch.seen * 4 < watch.due {
            failure = "it scored \(watch.seen) of the \(watch.due) windows it was due (its inputs do not arrive together)"
        }
        if let failure {
            probation[profile] = nil
            rollBack(profile, watch, reason: failure)
        } else {
            probation[profile] = watch.seen >= Self.probationWindows ? nil : watch
        }
    }

    /// Puts the previous model back, on disk and in memory, and records why.
    private func rollBack(_ profile: Int, _ watch: Probation, reason: String) {
        let type = profiles[profile].type
        let path = "\(folder)/\(type).vgm"
        do {
            if let previous = try? FileSystem.read(path + ".previous") {
                try FileSystem.writeAtomically(previous, to: path)
            } else {
                try FileSystem.remove(path)
            }
        } catch {
            logger.error("cannot restore the previous bundle", metadata: ["device_type": "\(type)", "reason": "\(error)"])
        }
        if let previous = watch.previous {
            do {
                try ingestor.install(previous, profile: profile)
            } catch {
                logger.error("cannot warm the previous model up on stored windows", metadata: ["device_type": "\(type)", "reason": "\(error)"])
            }
        } else {
            ingestor.scoring.remove(name: watch.model, profile: profile)
        }
        logger.warning("model rolled back", metadata: ["device_type": "\(type)", "model": "\(watch.model)", "version": "\(watch.version)",
                                                     "reason": "\(reason)"])
        do {
            try database.prepare("DELETE FROM running_models WHERE device_type = ? AND model = ?").run([.text(type), .text(watch.model)])
            if let previous = watch.previous { try saveRunning(type, previous.bundle) }
            try record(profile, model: watch.model, version: watch.version, sha256: watch.sha256, state: .rolledBack, reason: reason)
        } catch {
            logger.error("cannot record the rollback", metadata: ["device_type": "\(type)", "reason": "\(error)"])
        }
    }

    private func refuse(_ profile: Int, model: String, version: String, sha256: String, _ reason: String) throws(SQLiteError) {
        logger.warning("release refused", metadata: ["device_type": "\(profiles[profile].type)", "model": "\(model)",
                                                   "version": "\(version)", "reason": "\(reason)"])
        try record(profile, model: model, version: version, sha256: sha256, state: .refused, reason: reason)
    }

    /// Records a result and reports it once the record commits.
    private func record(_ profile: Int, model: String, version: String, sha256: String, state: ModelReport.State,
                        reason: String) throws(SQLiteError) {
        let type = profiles[profile].type
        try transaction.begin()
        try database.prepare("""
            INSERT INTO model_installs(at, device_type, model, version, sha256, state, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).run([.real(WallClock.now()), .text(type), .text(model), .text(version), .text(sha256), .text(state.rawValue), .text(reason)])
        let report = ModelReport(agent: agent, deviceType: type, model: model, version: version, state: state, reason: reason)
        transaction.afterCommit { [client, topics, agent, logger, metrics] in
            metrics.recordModelResult(deviceType: type, state: state)
            do {
                try client.publish(topic: topics.modelReport(agent: agent), payload: report.encoded(), qos: 1)
            } catch {
                logger.error("cannot send a model report", metadata: ["state": "\(state.rawValue)", "model": "\(model)",
                                                                     "version": "\(version)", "reason": "\(error)"])
            }
        }
    }

    private func saveRunning(_ type: String, _ bundle: ModelBundle) throws(SQLiteError) {
        try transaction.begin()
        try database.prepare("INSERT OR REPLACE INTO running_models(device_type, model, version, sha256) VALUES (?, ?, ?, ?)")
            .run([.text(type), .text(bundle.manifest.name), .text(bundle.manifest.version), .text(bundle.digest)])
    }

    /// The bundle's SHA-256 as the rule names it (`ModelBundle.digest`), or nil if it is no bundle.
    private func digest(_ bytes: [UInt8]) -> String? { (try? ModelBundle.inspect(bytes: bytes))?.digest }
}
