#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import VigilCore
import VigilInference

/// `vigil-trainer train`: one signed model from an agent database or the trainer's store.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train, quantize, evaluate and sign a model of one device type.",
        discussion: """
            Labels the feature windows by the maintenance events (failing within the horizon before a \
            confirmed fault), trains on each device's past, quantizes to int8, evaluates both on each \
            device's future, and writes a signed bundle with a Markdown report, SVG plots and the float \
            originals of its networks (FILE.vgm.float.json, for evaluate --float) beside it. \
            With --champion, the model is written only if its int8 macro-F1 on the same hold-out is not \
            worse than the champion's by more than the margin (exit status 3 otherwise).
            """)

    @Option(help: "An agent database or the trainer's store.")
    var agentDb: String
    @Option(help: "The folder of device profiles.")
    var devices: String
    @Option(help: "The device type to train for.")
    var type: String
    @Option(help: "The signing key (PREFIX.key).")
    var key: String
    @Option(help: "The bundle to write (FILE.vgm).")
    var out: String
    @Option(help: "The model's name (default <type>-health).")
    var name: String?
    @Option(help: "The model's semantic version.")
    var version = "1.0.0"
    @Option(help: "Hidden layer sizes, comma-separated, or none for a logistic regression.")
    var hidden: String?
    @Option(help: "Adam's learning rate.")
    var learningRate = 0.005
    @OptionGroup var model: ModelOptions
    @Option(help: "The random seed: the same seed trains the same model.")
    var seed: UInt64 = 1
    @Option(help: "The model in service, to gate the new one against.")
    var champion: String?
    @Option(help: "The public key the champion is signed with.")
    var trustedKey: String?
    @Option(help: "How much worse than the champion's macro-F1 the new model may be.")
    var margin = 0.02

    func validate() throws {
        if let hidden, hidden != "none", hidden.split(separator: ",").contains(where: { Int($0).map { $0 < 1 } ?? true }) {
            throw ValidationError("--hidden takes sizes like 16 or 32,16, or none; got \(hidden)")
        }
        if champion != nil && trustedKey == nil { throw ValidationError("--champion needs --trusted-key PUB to verify it") }
        guard learningRate > 0 && learningRate < 1 else { throw ValidationError("--learning-rate must be between 0 and 1, got \(learningRate)") }
        if model.search && hidden != nil { throw ValidationError("--search chooses the hidden layers itself: leave out --hidden") }
    }

    func run() throws {
        guard let profile = try DeviceProfile.loadAll(folder: devices).first(where: { $0.type == type }) else {
            throw ValidationError("no device profile of type \(type) in \(devices)")
        }
        let signing = try signingKey(file: key)
        var options = TrainingRun.Options(agentDatabase: agentDb, profile: profile, recipe: model.recipe, name: name ?? "\(type)-health")
        options.version = version
        options.seed = seed
        options.learningRate = learningRate
        if let hidden { options.hidden = hidden == "none" ? [] : hidden.split(separator: ",").compactMap { Int($0) } }
        if let champion, let trustedKey {
            let trusted = try Ed25519.key(hexFile: trustedKey)
            let bytes = try FileSystem.read(champion)
            options.champion = try ModelBundle(bytes: bytes, trustedKeys: [trusted])
            options.margin = margin
        }
        let terminal = isatty(1) != 0
        let result = try TrainingRun.run(options, signingKey: signing) { epoch in
            if terminal || epoch.number % 10 == 0 {
                print("epoch \(epoch.number): training loss \(TrainingReport.rounded(epoch.trainingLoss)), "
                      + "validation loss \(TrainingReport.rounded(epoch.validationLoss))")
            }
        }
        print(TrainingReport.markdown(result, plots: String(out.split(separator: "/").last ?? Substring(out))))
        if let gate = result.gate, !gate.passed {
            TrainerCommand.log("not released: macro-F1 \(TrainingReport.rounded(gate.challenger)) is worse than the champion's "
                               + "\(TrainingReport.rounded(gate.champion)) by more than the margin")
            throw ExitCode(3)
        }
        try FileSystem.writeAtomically(result.bundle, to: out)
        try FileSystem.writeAtomically(Array(FloatNetwork.json(result.floatLayers).serialized(indent: 0).utf8), to: out + ".float.json")
        try TrainingReport.write(result, to: out)
        print("wrote \(out) (\(result.bundle.count) bytes), \(out).md and its plots (.roc.svg, .confusion.svg, .loss.svg)")
    }
}
