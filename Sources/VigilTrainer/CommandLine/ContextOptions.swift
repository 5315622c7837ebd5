import ArgumentParser
import VigilInference

/// The inputs' context (`InputContext`) as `train` and `serve` take it.
struct ContextOptions: ParsableArguments {
    @Option(help: "Hours after installation or a repair that make a device's baseline; each input also goes to the model relative to it, and its trend. 0: the inputs alone.")
    var baselineHours = InputContext.standard.baselineSeconds / 3600
    @Option(help: "The time constant of the trend's slow moving average, hours (the fast one's is an eighth).")
    var trendHours = InputContext.standard.trendSeconds / 3600

    func validate() throws {
        guard baselineHours >= 0 else { throw ValidationError("--baseline-hours must be 0 or more, got \(baselineHours)") }
        guard trendHours > 0 else { throw ValidationError("--trend-hours must be positive, got \(trendHours)") }
    }

    var context: InputContext? {
        baselineHours == 0 ? nil : InputContext(baselineSeconds: baselineHours * 3600, trendSeconds: trendHours * 3600)
    }
}
