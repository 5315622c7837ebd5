#if canImport(Glibc)
import Glibc
#endif
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT

/// The `vigil-trainer` command line: `keygen`, `train`, `ingest`, `release` and `serve`.
public enum TrainerCommandLine {
    static let usage = """
        vigil-trainer: turns fleet data into signed int8 models.

        USAGE
          vigil-trainer keygen --out PREFIX
              Write an Ed25519 key pair: PREFIX.key (private, hex, mode 0600) and PREFIX.pub
              (public, hex: give it to agents as a trusted key).
          vigil-trainer train --agent-db FILE --devices DIR --type DEVICE_TYPE --key PREFIX.key --out FILE.vgm
                              [--name NAME] [--version X.Y.Z] [--horizon-hours 48] [--hidden 16|none] [--seed 1]
                              [--champion CURRENT.vgm --trusted-key PUB [--margin 0.02]]
              Label the feature windows of an agent database by its maintenance events
              (failing within the horizon before a confirmed fault), train a classifier on each
              device's past, quantize it to int8, evaluate both on each device's future, and
              write a signed bundle and a Markdown report beside it. With --champion, the new
              model is written only if its int8 macro-F1 on the same hold-out is not worse than
              the champion's by more than the margin (exit status 3 otherwise).
          vigil-trainer ingest --broker URL --store FILE
              Store every agent's upstream batches (vigil/upstream/<agent>/batch) once, and
              acknowledge them, until SIGINT or SIGTERM. `train --agent-db FILE` reads the store
              as it reads an agent's database.
          vigil-trainer serve --broker URL --store FILE --devices DIR --key PREFIX.key --models DIR
                              [--every SECONDS] [--canary SHARE]
              Ingest continuously; every SECONDS (default 3600) retrain each device type with new
              fault events, gate it against DIR/<type>.vgm, and release a model that passes.
          vigil-trainer release --bundle FILE.vgm --key PREFIX.key --broker URL
                                (--canary SHARE | --devices D1,D2) [--rollback true] [--release-prefix vigil/release]
                                [--watch SECONDS --canaries N [--previous OLD.vgm]]
              Verify the bundle (signed by the key), then publish it and its rollout rule, signed
              by the same key, retained, to PREFIX/<device-type>/bundle and .../rule. Agents
              refuse a lower version than they run unless the rule is a rollback. With --watch,
              wait for N canaries to report the version installed on vigil/<agent>/model, then
              release it to the whole fleet; at the first refusal or rollback, re-release
              OLD.vgm instead, as a rollback (exit status 4).

        CENTRAL BROKER (ingest, serve, release)
          --broker URL                 mqtt://host:port or mqtts://host:port
          --username NAME              the trainer's credential on a broker with a pattern ACL
          --password-file FILE         its password, on the file's first line
          --topic-prefix P             upstream batches and acks (default vigil/upstream)
          --release-prefix P           releases (default vigil/release)
          --report-prefix P            agents' model reports, P/<agent>/model (default vigil)
        """

    public static func main(_ arguments: [String]) -> Int32 {
        guard let command = arguments.first else { return fail(usage, 2) }
        var options: [String: String] = [:]
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            guard flag.hasPrefix("--"), let value = rest.popFirst() else {
                return flag == "--help" ? help() : fail("\(flag) needs a value (see vigil-trainer --help)", 2)
            }
            options[String(flag.dropFirst(2))] = value
        }
        do {
            switch command {
            case "keygen":
                guard let prefix = options["out"] else { return fail("keygen needs --out PREFIX", 2) }
                let pair = Ed25519.generate()
                try write(prefix + ".key", ModelBundle.hex(pair.privateKey) + "\n", mode: 0o600)
                try write(prefix + ".pub", ModelBundle.hex(pair.publicKey) + "\n", mode: 0o644)
                print("wrote \(prefix).key (keep it secret) and \(prefix).pub (public key \(ModelBundle.hex(pair.publicKey)))")
                return 0
            case "train":
                return try train(options)
            case "release":
                return try release(options)
            case "serve":
                guard let central = try central(options), let store = options["store"], let devices = options["devices"],
                      let keyFile = options["key"], let models = options["models"] else {
                    return fail("serve needs --broker, --store, --devices, --key and --models", 2)
                }
                let privateKey = try Ed25519.key(hexFile: keyFile)
                guard let publicKey = Ed25519.publicKey(forPrivateKey: privateKey) else {
                    return fail("\(keyFile): not an Ed25519 private key written by vigil-trainer keygen", 2)
                }
                let profiles = try DeviceProfile.loadAll(folder: devices)
                var service = TrainerService.Options(central: central, store: store, profiles: profiles, modelsFolder: models,
                                                     signingKey: .init(privateKey: privateKey, publicKey: publicKey))
                service.every = Double(options["every"] ?? "3600") ?? 3600
                service.canaryShare = Double(options["canary"] ?? "0.1") ?? 0.1
                try TrainerService(options: service, log: log).run()
                return 0
            case "ingest":
                guard let central = try central(options), let path = options["store"] else {
                    return fail("ingest needs --broker and --store", 2)
                }
                var signals = sigset_t()
                sigemptyset(&signals)
                sigaddset(&signals, SIGINT)
                sigaddset(&signals, SIGTERM)
                pthread_sigmask(SIG_BLOCK, &signals, nil)
                let store = try SQLiteUpstreamStore(path: path)
                let ingest = try UpstreamIngest(central: central, store: store, log: log)
                ingest.start()
                var received: Int32 = 0
                sigwait(&signals, &received)
                ingest.stop()
                let counts = ingest.snapshot
                print("ingest stopped: \(counts.stored) batches (\(counts.rows) rows) stored, \(counts.duplicates) duplicates, \(counts.refused) refused")
                return 0
            case "help", "--help", "-h":
                return help()
            default:
                return fail("unknown command \(command) (see vigil-trainer --help)", 2)
            }
        } catch let error as ConfigurationError {
            return fail("\(error)", 2)
        } catch {
            return fail("\(error)", 1)
        }
    }

    private static func train(_ options: [String: String]) throws -> Int32 {
        guard let database = options["agent-db"], let devices = options["devices"], let type = options["type"],
              let keyFile = options["key"], let out = options["out"] else {
            return fail("train needs --agent-db, --devices, --type, --key and --out", 2)
        }
        guard let profile = try DeviceProfile.loadAll(folder: devices).first(where: { $0.type == type }) else {
            return fail("no device profile of type \(type) in \(devices)", 2)
        }
        let privateKey = try Ed25519.key(hexFile: keyFile)
        guard let publicKey = Ed25519.publicKey(forPrivateKey: privateKey) else {
            return fail("\(keyFile): not an Ed25519 private key written by vigil-trainer keygen", 2)
        }
        var run = TrainingRun.Options(agentDatabase: database, profile: profile,
                                      rule: LabelRule(horizon: (Double(options["horizon-hours"] ?? "48") ?? 48) * 3600),
                                      name: options["name"] ?? "\(type)-health")
        run.version = options["version"] ?? "1.0.0"
        run.seed = UInt64(options["seed"] ?? "1") ?? 1
        if let hidden = options["hidden"] { run.hidden = hidden == "none" ? [] : hidden.split(separator: ",").compactMap { Int($0) } }
        if let champion = options["champion"] {
            guard let keyFile = options["trusted-key"] else { return fail("--champion needs --trusted-key PUB to verify it", 2) }
            let key = try Ed25519.key(hexFile: keyFile)
            let bytes = try FileSystem.read(champion)
            run.champion = try ModelBundle(bytes: bytes, trustedKeys: [key])
            run.margin = Double(options["margin"] ?? "0.02") ?? 0.02
        }
        let terminal = isatty(1) != 0
        let result = try TrainingRun.run(run, signingKey: .init(privateKey: privateKey, publicKey: publicKey)) { epoch in
            if terminal || epoch.number % 10 == 0 {
                print("epoch \(epoch.number): training loss \(rounded(epoch.trainingLoss)), validation loss \(rounded(epoch.validationLoss))")
            }
        }
        let report = Self.report(result, plots: String(out.split(separator: "/").last ?? Substring(out)))
        if let gate = result.gate, !gate.passed {
            print(report)
            return fail("not released: macro-F1 \(rounded(gate.challenger)) is worse than the champion's \(rounded(gate.champion)) by more than the margin", 3)
        }
        try write(out, result.bundle)
        try write(out + ".md", report, mode: 0o644)
        try write(out + ".roc.svg", ReportPlots.roc(result.holdout), mode: 0o644)
        try write(out + ".confusion.svg", ReportPlots.confusion(result.holdout, classes: LabelRule.classes), mode: 0o644)
        try write(out + ".loss.svg", ReportPlots.loss(result.epochs), mode: 0o644)
        print(report)
        print("wrote \(out) (\(result.bundle.count) bytes), \(out).md and its plots (.roc.svg, .confusion.svg, .loss.svg)")
        return 0
    }

    private static func release(_ options: [String: String]) throws -> Int32 {
        guard let file = options["bundle"], let keyFile = options["key"], let central = try central(options) else {
            return fail("release needs --bundle, --key and --broker", 2)
        }
        let rollout: ReleaseRule.Rollout
        if let share = options["canary"] {
            guard let value = Double(share), value > 0, value <= 1 else { return fail("--canary must be a share in (0, 1]", 2) }
            rollout = .canary(value)
        } else if let devices = options["devices"] {
            rollout = .devices(devices.split(separator: ",").map(String.init))
        } else {
            return fail("release needs --canary SHARE or --devices D1,D2", 2)
        }
        let privateKey = try Ed25519.key(hexFile: keyFile)
        guard let publicKey = Ed25519.publicKey(forPrivateKey: privateKey) else {
            return fail("\(keyFile): not an Ed25519 private key written by vigil-trainer keygen", 2)
        }
        let key = Ed25519.KeyPair(privateKey: privateKey, publicKey: publicKey)
        let bytes = try FileSystem.read(file)
        let bundle: ModelBundle
        do {
            bundle = try ModelBundle(bytes: bytes, trustedKeys: [publicKey])
        } catch {
            return fail("\(file): \(error); not released", 1)
        }
        let messages = Release.messages(for: bundle, bytes: bytes, rollout: rollout, rollback: options["rollback"] == "true",
                                        topics: central.topics, key: key, releasedAt: WallClock.now())
        try Release.publish(messages, central: central)
        for message in messages { print("published \(message.topic) (\(message.payload.count) bytes, retained)") }
        guard let watch = options["watch"].flatMap(Double.init) else { return 0 }
        var previous: (bundle: ModelBundle, bytes: [UInt8])?
        if let file = options["previous"] {
            let old = try FileSystem.read(file)
            previous = (try ModelBundle(bytes: old, trustedKeys: [publicKey]), old)
        }
        let outcome = try RolloutWatch.watch(bundle: bundle, bytes: bytes, previous: previous,
                                             canaries: Int(options["canaries"] ?? "1") ?? 1, timeout: watch, central: central,
                                             key: key) { print($0) }
        if case .rolledBack = outcome { return 4 }
        return 0
    }

    /// The central broker from `--broker URL [--username NAME --password-file FILE]
    /// [--topic-prefix P] [--release-prefix P] [--report-prefix P]`, or nil without `--broker`.
    private static func central(_ options: [String: String]) throws -> CentralBroker? {
        guard let url = options["broker"] else { return nil }
        var password: String?
        if let file = options["password-file"] {
            password = String(decoding: try FileSystem.read(file), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        }
        let defaults = FleetTopics()
        return CentralBroker(url: try BrokerURL(parsing: url), username: options["username"], password: password,
                             topics: FleetTopics(upstreamPrefix: options["topic-prefix"] ?? defaults.upstreamPrefix,
                                                 releasePrefix: options["release-prefix"] ?? defaults.releasePrefix,
                                                 agentPrefix: options["report-prefix"] ?? defaults.agentPrefix))
    }

    /// The Markdown report; `plots` is the bundle's file name, beside which the SVG plots lie.
    static func report(_ result: TrainingRun.Result, plots: String? = nil) -> String {
        let evaluation = result.holdout
        var lines = ["# \(result.manifest.name) \(result.manifest.version)", "",
                     "Windows: \(result.counts.train) training, \(result.counts.validation) validation, \(result.counts.holdout) hold-out "
                         + "(per device, by time). Epochs: \(result.epochs.count).", "",
                     "| hold-out | value |", "| --- | --- |",
                     "| accuracy | \(rounded(evaluation.accuracy)) |", "| macro-F1 | \(rounded(evaluation.macroF1)) |",
                     "| ROC-AUC (failing) | \(evaluation.rocAUC.map(rounded) ?? "n/a") |",
                     "| int8 agrees with float | \(rounded(evaluation.int8Agreement)) |"]
        if let gate = result.gate {
            lines.append("| champion's int8 macro-F1 on this hold-out | \(rounded(gate.champion)) (challenger \(rounded(gate.challenger)): \(gate.passed ? "released" : "refused")) |")
        }
        lines += ["",
                     "| truth \\ predicted | " + LabelRule.classes.joined(separator: " | ") + " | precision | recall |",
                     "| --- |" + String(repeating: " --- |", count: LabelRule.classes.count + 2)]
        for (index, name) in LabelRule.classes.enumerated() {
            lines.append("| \(name) | " + evaluation.confusion[index].map(String.init).joined(separator: " | ")
                         + " | \(rounded(evaluation.precision[index])) | \(rounded(evaluation.recall[index])) |")
        }
        if let plots {
            lines += ["", "![ROC](\(plots).roc.svg) ![confusion](\(plots).confusion.svg) ![loss](\(plots).loss.svg)"]
        }
        lines += ["", "Loss per epoch (training, validation):", ""]
        lines += result.epochs.map { "- \($0.number): \(rounded($0.trainingLoss)), \(rounded($0.validationLoss))" }
        return lines.joined(separator: "\n")
    }

    private static func rounded(_ value: Double) -> String { String((value * 1000).rounded() / 1000) }

    /// Every file the trainer writes is replaced atomically, with its mode from its creation
    /// (a private key is never readable by others, not even for a moment).
    private static func write(_ path: String, _ text: String, mode: mode_t) throws {
        try FileSystem.writeAtomically(Array(text.utf8), to: path, mode: mode)
    }

    private static func write(_ path: String, _ bytes: [UInt8]) throws {
        try FileSystem.writeAtomically(bytes, to: path)
    }

    private static func help() -> Int32 {
        print(usage)
        return 0
    }

    private static func fail(_ message: String, _ status: Int32) -> Int32 {
        log(message)
        return status
    }

    /// A line on standard error.
    @Sendable
    private static func log(_ line: String) {
        StandardError.write("vigil-trainer: \(line)\n")
    }
}
