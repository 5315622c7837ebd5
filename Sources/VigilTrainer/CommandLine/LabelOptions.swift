import ArgumentParser

/// How windows are labelled (`LabelRule`), as `train` and `serve` take it.
struct LabelOptions: ParsableArguments {
    @Option(help: "Hours before a fault within which a window counts as failing.")
    var horizonHours = 48.0
    @Option(help: "Hours before a fault within which an earlier window counts as \"soon\" (time to plan): a class of its own. 0: none.")
    var earlyHorizonHours = 336.0

    func validate() throws {
        guard horizonHours > 0 else { throw ValidationError("--horizon-hours must be positive, got \(horizonHours)") }
        guard earlyHorizonHours == 0 || earlyHorizonHours > horizonHours else {
            throw ValidationError("--early-horizon-hours must be 0 or more than --horizon-hours, got \(earlyHorizonHours)")
        }
    }

    var rule: LabelRule {
        LabelRule(horizon: horizonHours * 3600, earlyHorizon: earlyHorizonHours == 0 ? nil : earlyHorizonHours * 3600)
    }
}
