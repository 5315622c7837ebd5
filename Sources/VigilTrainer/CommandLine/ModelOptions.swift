import ArgumentParser
import VigilInference

/// What shapes a model, as `train` and `serve` (for each of its rounds) take it: the labels
/// (`LabelRule`), the classes, the inputs' context (`InputContext`), the search and the ensemble.
struct ModelOptions: ParsableArguments {
    @Option(help: "Hours before a fault within which a window counts as failing.")
    var horizonHours = 48.0
    @Option(help: "Hours before a fault within which an earlier window counts as \"soon\" (time to plan): a class of its own. 0: none.")
    var earlyHorizonHours = 336.0
    @Flag(help: "The model says what is coming: one failing class per fault mode the maintenance events name, or one failing class and the fault diagnosis where that names the modes as well.")
    var faultModes = false
    @Option(help: "Hours after installation or a repair that make a device's baseline; each input also goes to the model relative to it, and its trend. 0: the inputs alone.")
    var baselineHours = InputContext.standard.baselineSeconds / 3600
    @Option(help: "The time constant of the trend's slow moving average, hours (the fast one's is an eighth): the trend the anomaly score reads.")
    var trendHours = InputContext.standard.trendSeconds / 3600
    @Option(help: "The time constant of the trends the network takes (each input's and its growth's), hours; the same as --trend-hours for one trend.")
    var networkTrendHours = InputContext.standard.networkTrendSeconds / 3600
    @Flag(inversion: .prefixedNo, help: "Give the model each input's growth too: the trend of its change from the baseline on a logarithmic scale.")
    var growth = InputContext.standard.growth
    @Flag(inversion: .prefixedNo, help: "Give the model each input's level too: the change whose trend the growth is (with growth only).")
    var level = InputContext.standard.level
    @Flag(inversion: .prefixedNo, help: "Give the model each input's absolute value too; without, it sees each input only against the device's baseline (machines of one type differ in absolute level).")
    var absolute = InputContext.standard.absolute
    @Flag(help: "Search model sizes and learning rates (and the clocks of --search-network-trend-hours) on the validation split (15 trainings a type and clock) and keep the smallest within one standard error of the lowest loss.")
    var search = false
    @Option(parsing: .upToNextOption, help: "The network's clocks, hours, that --search also tries beside --network-trend-hours, each with every size and learning rate (none by default).")
    var searchNetworkTrendHours = TrainingRun.Recipe().searchedClocks.map { $0 / 3600 }
    @Option(help: "The share of training windows shown with one sensor's inputs at healthy, as agents score a window whose sensor is stuck or drifting, so the model calls trouble from the other sensors too (0 to 0.9, 0.2 by default; 0: none).")
    var sensorDropout = TrainingRun.Recipe().sensorDropout
    @Option(help: "The time constant of a degradation clock's rate, hours: where one input's rise and another sensor's growth are measured, a logistic regression on the two gives the probability of failing instead of the networks, if that does better on the validation split. 0: no clock.")
    var clockHours = (TrainingRun.Recipe().clockSeconds ?? 0) / 3600
    @Option(help: "How many networks the model averages: the chosen size and learning rate trained from as many seeds (1 to 16).")
    var members = TrainingRun.Recipe().members
    @Option(help: "AdamW's weight decay: each step shrinks the networks' weights by the learning rate times this, so a network learns what the fleet's failures share rather than the training machines' own (0: none).")
    var weightDecay = TrainingRun.Recipe().weightDecay
    @Flag(inversion: .prefixedNo, help: "Train the networks shipped again on every labelled window, each for the epochs validation chose, once the split has chosen and measured the model (its metrics are then of the same recipe trained on each device's past).")
    var refit = TrainingRun.Recipe().refit

    func validate() throws {
        guard horizonHours > 0 else { throw ValidationError("--horizon-hours must be positive, got \(horizonHours)") }
        guard earlyHorizonHours == 0 || earlyHorizonHours > horizonHours else {
            throw ValidationError("--early-horizon-hours must be 0 or more than --horizon-hours, got \(earlyHorizonHours)")
        }
        guard baselineHours >= 0 else { throw ValidationError("--baseline-hours must be 0 or more, got \(baselineHours)") }
        guard trendHours > 0 else { throw ValidationError("--trend-hours must be positive, got \(trendHours)") }
        guard networkTrendHours > 0 else { throw ValidationError("--network-trend-hours must be positive, got \(networkTrendHours)") }
        guard searchNetworkTrendHours.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--search-network-trend-hours must be positive, got \(searchNetworkTrendHours)")
        }
        guard search || searchNetworkTrendHours.isEmpty else { throw ValidationError("--search-network-trend-hours needs --search, which tries them") }
        guard (0...0.9).contains(sensorDropout) else { throw ValidationError("--sensor-dropout must be 0 to 0.9, got \(sensorDropout)") }
        guard clockHours >= 0 else { throw ValidationError("--clock-hours must be 0 or more, got \(clockHours)") }
        guard (1...16).contains(members) else { throw ValidationError("--members must be 1 to 16, got \(members)") }
        guard (0...10).contains(weightDecay) else { throw ValidationError("--weight-decay must be 0 to 10, got \(weightDecay)") }
    }

    var recipe: TrainingRun.Recipe {
        var recipe = TrainingRun.Recipe()
        recipe.rule = LabelRule(horizon: horizonHours * 3600, earlyHorizon: earlyHorizonHours == 0 ? nil : earlyHorizonHours * 3600)
        recipe.search = search
        recipe.searchedClocks = searchNetworkTrendHours.map { $0 * 3600 }
        recipe.members = members
        recipe.sensorDropout = sensorDropout
        recipe.weightDecay = weightDecay
        recipe.refit = refit
        recipe.clockSeconds = clockHours == 0 ? nil : clockHours * 3600
        recipe.faultModes = faultModes
        recipe.context = baselineHours == 0 ? nil : InputContext(baselineSeconds: baselineHours * 3600, trendSeconds: trendHours * 3600,
                                                                             networkTrendSeconds: networkTrendHours * 3600, growth: growth, level: level, absolute: absolute)
        return recipe
    }
}
