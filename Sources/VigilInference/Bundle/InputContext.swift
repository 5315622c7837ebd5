#if canImport(Glibc)
import Glibc
#endif

/// What a model sees beyond one window: each input relative to the device's own healthy
/// baseline, how fast that moves (its trend), and how fast it grows (its growth). Machines of one
/// type differ in mounting, resonance and sensor gain, so a change from a machine's own first days
/// after installation or a repair says more than the absolute value (as condition monitoring
/// compares a machine with its own baseline); the trend says how fast trouble comes. The agent and
/// the trainer apply it with this one piece of code, window after window, from each installation
/// or repair.
public struct InputContext: Sendable, Equatable {
    /// Seconds of windows after installation or a repair that make the baseline; the model
    /// abstains until they have passed.
    public var baselineSeconds: Double
    /// The time constant of the trend's slow moving average (the fast one's is an eighth): the
    /// trend the anomaly score reads, whose slow departures make its early warning.
    public var trendSeconds: Double
    /// The time constant of the trends the network takes: of each relative input (its `pace`,
    /// in place of `trend` when the two differ) and of its growth. The network's clock: a
    /// shorter one follows a fast degradation sooner.
    public var networkTrendSeconds: Double
    /// Whether the network also takes each input's growth: the trend of `asinh` of its change
    /// from the baseline's mean in the baseline's standard deviations (linear within the healthy
    /// noise, logarithmic beyond). Damage that grows exponentially, as wear does, then gives a
    /// growth proportional to its rate whatever its size, and whether it fails within the horizon
    /// is close to a line in the relative value and the growth.
    public var growth: Bool
    /// Whether the network also takes each input's level: its change on that logarithmic scale,
    /// whose trend the growth is (only with growth). The hours until an exponentially growing
    /// change reaches a failing size are then a line in the level and the growth: the distance
    /// on that scale over the rate.
    public var level: Bool
    /// Whether the network takes each input's absolute value as well. Without, those inputs are
    /// 0 to it, and it sees each input only against its device's baseline: machines of one type
    /// differ in absolute level, and what a network learns of the training machines' levels does
    /// not carry to others.
    public var absolute: Bool

    public static let standard = InputContext(baselineSeconds: 86_400, trendSeconds: 172_800, networkTrendSeconds: 43_200, level: true,
                                              absolute: false)

    /// `networkTrendSeconds` nil: the trend's.
    public init(baselineSeconds: Double, trendSeconds: Double, networkTrendSeconds: Double? = nil, growth: Bool = true, level: Bool = false,
                absolute: Bool = true) {
        self.baselineSeconds = baselineSeconds
        self.trendSeconds = trendSeconds
        self.networkTrendSeconds = networkTrendSeconds ?? trendSeconds
        self.growth = growth
        self.level = growth && level
        self.absolute = absolute
    }

    /// Whether the network's trends have a time constant of their own: it then takes each
    /// input's `pace` instead of its `trend`.
    public var paced: Bool { networkTrendSeconds != trendSeconds }

    /// Whether the network takes network input `index` for `raw` inputs: every derived one but a
    /// trend it takes the pace of, an absolute one only with `absolute` (else it is 0, whatever the
    /// window).
    @inline(__always)
    public func takes(input index: Int, raw: Int) -> Bool {
        if index < raw { return absolute }
        return !paced || !(2 * raw..<3 * raw).contains(index)
    }

    /// What the context derives from each raw input; its name is the network input's suffix.
    public enum Derived: String, Sendable {
        case relative, trend, growth, level, pace
    }

    /// The derived groups, in network order after the raw inputs.
    private var groups: [Derived] {
        [.relative, .trend] + (growth ? [.growth] : []) + (level ? [.level] : []) + (paced ? [.pace] : [])
    }

    /// How many inputs the network takes for `raw` inputs: each raw, then each derived group.
    public func width(raw: Int) -> Int { (1 + groups.count) * raw }

    /// Where raw input `index` and every input derived from it lie among the network's for `raw`
    /// inputs: what one sensor's input moves.
    public func positions(of index: Int, raw: Int) -> [Int] {
        (0...groups.count).map { $0 * raw + index }
    }

    /// Where `derived` of raw input `index` lies among the network's for `raw` inputs; nil if the
    /// context does not derive it.
    public func position(of index: Int, _ derived: Derived, raw: Int) -> Int? {
        groups.firstIndex(of: derived).map { (1 + $0) * raw + index }
    }

    /// Every network input's value on a healthy machine, for `raw` inputs whose training means
    /// are `means`: the absolute inputs at their mean, the relative and trend ones at the anomaly
    /// score's healthy centers, growth, level and pace at 0. Nil unless the score starts at the first relative
    /// input (a score over the absolute inputs knows no healthy relative value).
    public func healthyInputs(means: ArraySlice<Double>, anomaly: AnomalyScore) -> [Double]? {
        let raw = means.count
        guard anomaly.firstInput == raw else { return nil }
        var healthy = Array(means) + Array(anomaly.centers.prefix(2 * raw))
        healthy += Array(repeating: 0, count: (groups.count - 2) * raw)
        return healthy
    }

    /// Where the relative and trend inputs (always the first two groups) lie among the network's
    /// for `raw` inputs: what an anomaly score looks at (growth, 0 on a healthy machine, is left out).
    public static func relativeAndTrend(raw: Int) -> Range<Int> { raw..<(3 * raw) }

    /// The network's input names for `raw` input names: each raw, then, with a `context`,
    /// `name:relative` each, `name:trend` each and so on for each derived group.
    public static func names(_ raw: [String], for context: InputContext?) -> [String] {
        guard let context else { return raw }
        return raw + context.groups.flatMap { kind in raw.map { "\($0):\(kind.rawValue)" } }
    }

    /// One device's context for one model, window after window since installation or a repair.
    public struct State: Sendable {
        private var start: Double?
        private var count = 0
        private var sum: [Double] = []
        private var sumSquares: [Double] = []
        /// Per input, the baseline's mean and the scale a change is measured in (|mean| + std):
        /// empty while the baseline is being learned.
        private var mean: [Double] = []
        private var scale: [Double] = []
        /// Per input, the baseline's standard deviation (at least a ten-thousandth of `scale`),
        /// what growth measures the change in.
        private var deviation: [Double] = []
        private var trend = Trend()
        private var pace = Trend()
        private var growthTrend = Trend()
        private var last = 0.0

        public init() {}

        /// Whether the baseline is complete.
        public var ready: Bool { !mean.isEmpty }

        /// Takes the next window's raw inputs at `time`. While the baseline is being learned it
        /// returns false; after, it puts the network's inputs (raw, relative, trend, growth, level) in
        /// `inputs` and returns true.
        public mutating func next(_ raw: [Double], at time: Double, context: InputContext, into inputs: inout [Double]) -> Bool {
            guard ready else {
                learn(raw, at: time, context: context)
                return false
            }
            let elapsed = max(0, time - last)
            last = time
            inputs.removeAll(keepingCapacity: true)
            inputs.append(contentsOf: raw)
            let relative = raw.indices.map { (raw[$0] - mean[$0]) / scale[$0] }
            inputs.append(contentsOf: relative)
            trend.next(relative, after: elapsed, seconds: context.trendSeconds, into: &inputs)
            if context.growth {
                let levels = raw.indices.map { level(raw, $0) }
                growthTrend.next(levels, after: elapsed, seconds: context.networkTrendSeconds, into: &inputs)
                if context.level { inputs.append(contentsOf: levels) }
            }
            if context.paced { pace.next(relative, after: elapsed, seconds: context.networkTrendSeconds, into: &inputs) }
            return true
        }

        /// Input `index`'s change from the baseline's mean in its standard deviations, on a scale
        /// linear within the healthy noise and logarithmic beyond.
        private func level(_ raw: [Double], _ index: Int) -> Double {
            asinh((raw[index] - mean[index]) / deviation[index])
        }

        private mutating func learn(_ raw: [Double], at time: Double, context: InputContext) {
            if start == nil {
                start = time
                sum = Array(repeating: 0, count: raw.count)
                sumSquares = sum
            }
            count += 1
            for index in raw.indices {
                sum[index] += raw[index]
                sumSquares[index] += raw[index] * raw[index]
            }
            // At least three windows, so a device that reports rarely still gets a spread.
            guard time - start! >= context.baselineSeconds, count >= 3 else { return }
            mean = sum.map { $0 / Double(count) }
            let std = raw.indices.map { index in max(0, sumSquares[index] / Double(count) - mean[index] * mean[index]).squareRoot() }
            scale = raw.indices.map { index in max(abs(mean[index]) + std[index], 1e-9) }
            deviation = raw.indices.map { index in max(std[index], 1e-4 * scale[index]) }
            trend = Trend(count: raw.count)
            pace = trend
            growthTrend = trend
            last = time
        }
    }

    /// A fast minus a slow exponential moving average of each of several values, the fast one's
    /// time constant an eighth of the slow one's.
    struct Trend: Sendable {
        private var fast: [Double]
        private var slow: [Double]

        init(count: Int = 0) {
            fast = Array(repeating: 0, count: count)
            slow = fast
        }

        /// Takes `values`, `elapsed` seconds after the last, and appends each one's trend to `inputs`.
        mutating func next(_ values: [Double], after elapsed: Double, seconds: Double, into inputs: inout [Double]) {
            let fastWeight = 1 - exp(-elapsed / (seconds / 8))
            let slowWeight = 1 - exp(-elapsed / seconds)
            for index in values.indices {
                fast[index] += fastWeight * (values[index] - fast[index])
                slow[index] += slowWeight * (values[index] - slow[index])
                inputs.append(fast[index] - slow[index])
            }
        }
    }
}
