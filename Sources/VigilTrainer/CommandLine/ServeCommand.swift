import ArgumentParser
import VigilCore

/// `vigil-trainer serve`: ingest, and retrain and release on a schedule.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Ingest continuously; retrain each device type with new faults on a schedule and release a model that passes the gate.",
        discussion: "The model in service per type is MODELS/<type>.vgm, replaced atomically; a release goes to a canary share of agents.")

    @OptionGroup var central: CentralOptions
    @OptionGroup var operation: OperationOptions
    @Option(help: "The trainer's SQLite store.")
    var store: String
    @Option(help: "The folder of device profiles.")
    var devices: String
    @Option(help: "The signing key (PREFIX.key).")
    var key: String
    @Option(help: "The folder of the models in service.")
    var models: String
    @Option(help: "Seconds between retraining rounds.")
    var every = 3600.0
    @Option(help: "The share of agents a new model goes to first (0 to 1).")
    var canary = 0.1
    @OptionGroup var model: ModelOptions
    @Option(help: "Retrain a type whose model in service reaches this input PSI at some agent (its drift reports), even without new faults. 0: never.")
    var driftThreshold = 0.25

    func validate() throws {
        guard every > 0 else { throw ValidationError("--every must be positive, got \(every)") }
        guard driftThreshold >= 0 else { throw ValidationError("--drift-threshold must be 0 or more, got \(driftThreshold)") }
        guard canary > 0 && canary <= 1 else { throw ValidationError("--canary must be a share in (0, 1], got \(canary)") }
    }

    func run() throws {
        // One throwing call per statement: Swift 6.3 miscompiles several typed throws in one.
        let broker = try central.central()
        let profiles = try DeviceProfile.loadAll(folder: devices)
        let signing = try signingKey(file: key)
        var options = TrainerService.Options(central: broker, store: store, profiles: profiles, modelsFolder: models, signingKey: signing)
        options.every = every
        options.canaryShare = canary
        options.recipe = model.recipe
        options.driftThreshold = driftThreshold == 0 ? nil : driftThreshold
        let metrics = TrainerMetrics()
        let server = try operation.startMetrics(metrics)
        defer { server?.stop() }
        try TrainerService(options: options, metrics: metrics, logger: operation.logger.component("serve")).run()
    }
}
