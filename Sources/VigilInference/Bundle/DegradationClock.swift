#if canImport(Glibc)
import Glibc
#endif

/// A clock for damage that grows exponentially, as wear does: how far one input has risen from
/// the device's baseline (the damage's size: a motor's current as a failing bearing loads it) and
/// how fast the fastest-growing risen input of another sensor grows (its rate: a bearing's
/// vibration band). The hours left until the size reaches a failing one are its log distance over
/// the rate, a line in the log size and the rate, so a logistic regression on the two gives the
/// probability of failing within the horizon. It answers only where both are measured (the size
/// and a rate input over 3 baseline deviations, growing); elsewhere the networks do. The trainer
/// fits it on training windows and keeps it only where it betters the networks on validation by
/// a point of macro-F1; the agent and `evaluate` score it with this one piece of code.
public struct DegradationClock: Sendable, Equatable {
    /// The raw input whose rise from the baseline is the damage's size.
    public var size: Int
    /// The raw inputs whose growth is its rate.
    public var rates: [Int]
    /// The time constant of the rate's slow moving average (the fast one's is an eighth).
    public var seconds: Double
    /// The logistic regression's intercept and weights of the log size and the rate (per hour).
    public var weights: [Double]

    public init(size: Int, rates: [Int], seconds: Double, weights: [Double]) {
        self.size = size
        self.rates = rates
        self.seconds = seconds
        self.weights = weights
    }

    /// Where an input has risen: 3 baseline deviations, on the context's level scale.
    static let risen = asinh(3.0)

    /// Whether the clock reads what `context` gives for `raw` inputs: their relative and level inputs.
    public func fits(_ context: InputContext?, raw: Int) -> Bool {
        guard let context, context.level, (0..<raw).contains(size), !rates.isEmpty, rates.allSatisfy((0..<raw).contains) else { return false }
        return seconds > 0 && seconds.isFinite && weights.count == 3 && weights.allSatisfy(\.isFinite)
    }

    /// One device's rate, window after window from the end of its baseline (after installation
    /// or a repair).
    public struct State: Sendable {
        var trend = InputContext.Trend()
        var last: Double?
        var levels: [Double] = []
        var growth: [Double] = []

        public init() {}
    }

    /// One window's log size and rate (log units per hour) from its network `inputs` at `time`
    /// (after the context, for `raw` inputs; `context` must be one the clock `fits`), or nil where
    /// either is not measured. Every window of a device goes through, in time order.
    public func measure(_ inputs: [Double], raw: Int, context: InputContext, at time: Double, state: inout State) -> (logSize: Double, rate: Double)? {
        if state.last == nil { state.trend = InputContext.Trend(count: rates.count) }
        let elapsed = max(0, time - (state.last ?? time))
        state.last = time
        state.levels.removeAll(keepingCapacity: true)
        for input in rates { state.levels.append(inputs[context.position(of: input, .level, raw: raw)!]) }
        state.growth.removeAll(keepingCapacity: true)
        state.trend.next(state.levels, after: elapsed, seconds: seconds, into: &state.growth)
        let relative = inputs[context.position(of: size, .relative, raw: raw)!]
        guard relative > 0, inputs[context.position(of: size, .level, raw: raw)!] > Self.risen else { return nil }
        var fastest = -Double.infinity
        for index in rates.indices where state.levels[index] > Self.risen { fastest = max(fastest, state.growth[index]) }
        // The difference of the two moving averages of a steady growth g per second is g times
        // the difference of their time constants.
        let rate = fastest / (seconds * 7 / 8) * 3600
        guard rate > 0 else { return nil }
        return (log(relative), rate)
    }

    /// The probability of failing within the horizon at `measured` log size and rate.
    public func probability(_ measured: (logSize: Double, rate: Double)) -> Double {
        let z = weights[0] + weights[1] * measured.logSize + weights[2] * measured.rate
        return 1 / (1 + exp(-z))
    }

    /// Puts `failing` as the probability of the failing classes of `classes` in `probabilities`,
    /// each failing class keeping its share of them, the others of the rest.
    public static func apply(_ failing: Double, to probabilities: inout [Double], classes: [String]) {
        let trouble = ModelManifest.trouble(probabilities, classes: classes)
        let failingCount = Double(classes.count { ModelManifest.isFailing($0) })
        for index in probabilities.indices {
            if ModelManifest.isFailing(classes[index]) {
                probabilities[index] = trouble > 0 ? probabilities[index] / trouble * failing : failing / failingCount
            } else {
                probabilities[index] = trouble < 1 ? probabilities[index] / (1 - trouble) * (1 - failing)
                    : (1 - failing) / (Double(classes.count) - failingCount)
            }
        }
    }
}
