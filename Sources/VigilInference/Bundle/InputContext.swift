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
    /// The time constant of the slow moving average; the fast one's is an eighth of it.
    public var trendSeconds: Double
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

    public static let standard = InputContext(baselineSeconds: 86_400, trendSeconds: 172_800, level: true, absolute: false)

    public init(baselineSeconds: Double, trendSeconds: Double, growth: Bool = true, level: Bool = false, absolute: Bool = true) {
        self.baselineSeconds = baselineSeconds
        self.trendSeconds = trendSeconds
        self.growth = growth
        self.level = growth && level
        self.absolute = absolute
    }

    /// Whether the network takes network input `index` for `raw` inputs: every derived one, an
    /// absolute one only with `absolute` (else it is 0, whatever the window).
    @inline(__always)
    public func takes(input index: Int, raw: Int) -> Bool { absolute || index >= raw }

    /// What the context derives from each raw input; its name is the network input's suffix.
    public enum Derived: String, Sendable {
        case relative, trend, growth, level
    }

    /// The derived groups, in network order after the raw inputs.
    private var groups: [Derived] { [.relative, .trend] + (growth ? [.growth] : []) + (level ? [.level] : []) }

    /// How many inputs the network takes for `raw` inputs: each raw, then each derived group.
    public func width(raw: Int) -> Int { (1 + groups.count) * raw }

    /// Where raw input `index` and every input derived from it lie among the network's for `raw`
    /// inputs: what one sensor's input moves.
    public func positions(of index: Int, raw: Int) -> [Int] {
        (0...groups.count).map { $0 * raw + index }
    }

    /// Every network input's value on a healthy machine, for `raw` inputs whose training means
    /// are `means`: the absolute inputs at their mean, the relative and trend ones at the anomaly
    /// score's healthy centers, growth and level at 0. Nil unless the score starts at the first relative
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
    /// `name:relative` each, `name:trend` each and, with growth, `name:growth` each.
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
        private var fast: [Double] = []
        private var slow: [Double] = []
        private var growthFast: [Double] = []
        private var growthSlow: [Double] = []
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
            let fastWeight = 1 - exp(-max(0, time - last) / (context.trendSeconds / 8))
            let slowWeight = 1 - exp(-max(0, time - last) / context.trendSeconds)
            last = time
            inputs.removeAll(keepingCapacity: true)
            inputs.append(contentsOf: raw)
            for index in raw.indices {
                let relative = (raw[index] - mean[index]) / scale[index]
                inputs.append(relative)
                fast[index] += fastWeight * (relative - fast[index])
                slow[index] += slowWeight * (relative - slow[index])
            }
            for index in raw.indices { inputs.append(fast[index] - slow[index]) }
            guard context.growth else { return true }
            for index in raw.indices {
                let change = level(raw, index)
                growthFast[index] += fastWeight * (change - growthFast[index])
                growthSlow[index] += slowWeight * (change - growthSlow[index])
                inputs.append(growthFast[index] - growthSlow[index])
            }
            if context.level {
                for index in raw.indices { inputs.append(level(raw, index)) }
            }
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
            fast = Array(repeating: 0, count: raw.count)
            slow = fast
            growthFast = fast
            growthSlow = fast
            last = time
        }
    }
}
