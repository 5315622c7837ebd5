import Logging
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilObservability
import VigilStore
#if canImport(Glibc)
import Glibc
#endif

/// `vigil-trainer serve`: ingests the fleet's batches continuously and, on a schedule, retrains
/// every device type that has new maintenance events; a model that passes the gate against the
/// one in service replaces it in the models folder and is released to a canary share.
public final class TrainerService {
    public struct Options: Sendable {
        public var central: CentralBroker
        public var store: String
        public var profiles: [DeviceProfile]
        public var modelsFolder: String
        public var signingKey: Ed25519.KeyPair
        /// Seconds between retraining rounds.
        public var every: Double = 3600
        /// New fault events of a device type that make a round retrain it.
        public var minimumNewEvents = 1
        public var canaryShare = 0.1
        /// What shapes each round's models.
        public var recipe = TrainingRun.Recipe()
        /// A model in service whose largest input PSI reaches this at some agent is retrained
        /// even without new fault events; nil: drift never triggers a round.
        public var driftThreshold: Double? = 0.25

        public init(central: CentralBroker, store: String, profiles: [DeviceProfile], modelsFolder: String, signingKey: Ed25519.KeyPair) {
            self.central = central
            self.store = store
            self.profiles = profiles
            self.modelsFolder = modelsFolder
            self.signingKey = signingKey
        }
    }

    private let options: Options
    private let logger: Logger
    /// Ingest, training and release metrics; `serve --metrics-listen` serves its registry.
    public let metrics: TrainerMetrics
    /// Agents' latest drift reports, fed by the ingest `run` starts.
    public let drift = DriftBoard()
    private var eventsAtLastTraining: [String: Int64] = [:]

    public init(options: Options, metrics: TrainerMetrics = TrainerMetrics(), logger: Logger = .silent) {
        self.options = options
        self.metrics = metrics
        self.logger = logger
    }

    /// One retraining round over the store (or an agent database: they have the same shape);
    /// returns the device types whose new model was released.
    @discardableResult
    public func retrainRound() -> [String] {
        var released: [String] = []
        let source: any DatasetSource
        do {
            source = try openDatasetSource(options.store)
        } catch {
            logger.error("cannot open the store", metadata: ["store": "\(options.store)", "reason": "\(error)"])
            return []
        }
        for profile in options.profiles where !profile.features.isEmpty {
            let faults = (try? source.faultCount(deviceType: profile.type)) ?? 0
            let path = "\(options.modelsFolder)/\(profile.type).vgm"
            let champion = (try? FileSystem.read(path)).flatMap { try? ModelBundle(bytes: $0, trustedKeys: [options.signingKey.publicKey]) }
            // New fault events, or the model in service drifting at some agent, make a round.
            let drifting = champion.flatMap { champion in
                options.driftThreshold.map { drift.drifting(deviceType: profile.type, model: champion.manifest.name,
                                                            version: champion.manifest.version, threshold: $0) }
            } ?? []
            guard faults - eventsAtLastTraining[profile.type, default: 0] >= Int64(options.minimumNewEvents) || !drifting.isEmpty else { continue }
            if !drifting.isEmpty {
                logger.notice("retraining on drift", metadata: [
                    "device_type": "\(profile.type)", "version": "\(champion?.manifest.version ?? "")",
                    "agents": "\(drifting.map { "\($0.agent) (\(($0.maxPSI * 1000).rounded() / 1000))" }.joined(separator: ", "))"])
            }
            var run = TrainingRun.Options(agentDatabase: options.store, profile: profile, recipe: options.recipe, name: "\(profile.type)-health")
            if let champion {
                let numbers = champion.manifest.versionNumbers
                run.version = "\(numbers[0]).\(numbers[1] + 1).0"
                run.champion = champion
            }
            do {
                let result = try TrainingRun.run(run, signingKey: options.signingKey)
                eventsAtLastTraining[profile.type] = faults
                // Every round's report, released or not, with the drift of the model it would replace.
                let replaced = champion.map { drift.drifting(deviceType: profile.type, model: $0.manifest.name, version: $0.manifest.version) }
                try TrainingReport.write(result, to: "\(options.modelsFolder)/\(profile.type)-\(run.version)", drift: replaced ?? [],
                                         driftThreshold: options.driftThreshold)
                if let gate = result.gate, !gate.passed {
                    metrics.training(deviceType: profile.type, result: .gateRefused, macroF1: result.holdout.macroF1)
                    logger.notice("not released: the champion gate refused it",
                                  metadata: ["device_type": "\(profile.type)", "version": "\(run.version)",
                                             "macro_f1": "\(gate.challenger)", "champion_macro_f1": "\(gate.champion)"])
                    continue
                }
                try FileSystem.writeAtomically(result.bundle, to: path)
                let bundle = try ModelBundle(bytes: result.bundle, trustedKeys: [options.signingKey.publicKey])
                try Release.publish(Release.messages(for: bundle, bytes: result.bundle, rollout: .canary(options.canaryShare),
                                                     topics: options.central.topics, key: options.signingKey,
                                                     releasedAt: WallClock.now()), central: options.central)
                metrics.training(deviceType: profile.type, result: .released, macroF1: result.holdout.macroF1)
                metrics.released(deviceType: profile.type, version: run.version, share: options.canaryShare)
                logger.notice("released", metadata: ["device_type": "\(profile.type)", "version": "\(run.version)",
                                                     "canary_share": "\(options.canaryShare)", "macro_f1": "\(result.holdout.macroF1)"])
                released.append(profile.type)
            } catch {
                metrics.training(deviceType: profile.type, result: .failed, macroF1: nil)
                logger.error("not trained", metadata: ["device_type": "\(profile.type)", "reason": "\(error)"])
            }
        }
        return released
    }

    /// Runs ingest and the retraining schedule until SIGINT or SIGTERM.
    public func run() throws {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let store = try SQLiteUpstreamStore(path: options.store)
        let ingest = try UpstreamIngest(central: options.central, store: store, drift: options.driftThreshold == nil ? nil : drift,
                                        metrics: metrics, logger: logger.component("ingest"))
        ingest.start()
        defer { ingest.stop() }
        // Retraining reads the store through its own connection.
        while true {
            let whole = options.every.rounded(.down)
            var timeout = timespec(tv_sec: Int(whole), tv_nsec: Int((options.every - whole) * 1e9))
            if sigtimedwait(&signals, nil, &timeout) > 0 { return }
            retrainRound()
        }
    }
}
