import VigilInference
#if canImport(Glibc)
import Glibc
#endif

extension DegradationClock {
    /// The best clock the `validation` windows of `dataset` (with `context`, of raw `inputs`)
    /// find, beside the networks whose probabilities of failing there are `networkTrouble`, or
    /// nil if none can be fitted. Each raw input is tried as the size with each family of another
    /// sensor's inputs as the rates, a logistic regression fitted on the `train` windows both
    /// measure; the one of the highest validation macro-F1, where it answers in place of the
    /// networks, is the choice. It is kept only if that is `margin` or more above the networks'.
    public static func chosen(dataset: Dataset, train: [Dataset.Example], validation: [Dataset.Example], context: InputContext?,
                              inputs: [ModelManifest.Input], networkTrouble: [Double], seconds: Double) -> Choice? {
        guard let context, context.level else { return nil }
        let raw = inputs.count
        let truth = validation.map(\.label)
        func macroF1(_ trouble: [Double]) -> Double {
            Evaluation(truth: truth, probabilities: trouble.map { [1 - $0, $0] }, classes: 2).macroF1
        }
        let networks = macroF1(networkTrouble), families = Self.families(inputs)
        var best: Choice?
        for size in 0..<raw {
            for rates in families where inputs[rates[0]].sensor != inputs[size].sensor {
                var clock = DegradationClock(size: size, rates: rates, seconds: seconds, weights: [0, 0, 0])
                let measures = clock.measures(in: dataset, raw: raw, context: context)
                guard let weights = Self.logisticWeights(train.compactMap { example in
                    measures[Key(example)].map { ($0, example.label) }
                }) else { continue }
                clock.weights = weights
                let trouble = validation.indices.map { index in
                    measures[Key(validation[index])].map(clock.probability) ?? networkTrouble[index]
                }
                let f1 = macroF1(trouble)
                if f1 > best?.macroF1 ?? -1 { best = Choice(clock: clock, macroF1: f1, networks: networks, measures: measures) }
            }
        }
        return best
    }

    /// The best clock validation found, its macro-F1 in the networks' place and the networks'
    /// alone, and its measures of every window of the dataset.
    public struct Choice: Sendable {
        public var clock: DegradationClock
        public var macroF1: Double
        public var networks: Double
        public var measures: [Key: (logSize: Double, rate: Double)]

        /// Whether it betters the networks by the `margin`, and so goes into the bundle.
        public var kept: Bool { macroF1 >= networks + DegradationClock.margin }
    }

    /// The inputs of one sensor whose feature names share their first word (a spectrum's bands,
    /// the envelope at the bearing's defect frequencies), or one input alone: what may grow
    /// together as one damage. A family mixing unlike inputs (a kurtosis beside a band power)
    /// would take the fastest of noises for the rate.
    public static func families(_ inputs: [ModelManifest.Input]) -> [[Int]] {
        var families: [[Int]] = [], named: [String: Int] = [:]
        for (index, input) in inputs.enumerated() {
            let name = "\(input.sensor).\(input.feature.prefix { $0 != "_" })"
            if let family = named[name] { families[family].append(index) } else {
                named[name] = families.count
                families.append([index])
            }
        }
        return families
    }

    /// How far above the networks' a clock's validation macro-F1 must be. A validation split
    /// holds a few failures: on the tuning fleets, clocks that beat fans' networks there by less
    /// (0.002 to 0.005) did worse on every fleet, those that beat motors' and pumps' by 0.04 to
    /// 0.07 did better.
    public static let margin = 0.01

    /// Where a window lies: its device and end.
    public struct Key: Hashable, Sendable {
        public var device: String
        public var end: Double

        public init(_ example: Dataset.Example) {
            device = example.device
            end = example.windowEnd
        }
    }

    /// Each window's measure (`measure`) that the clock answers on, each device's windows in time
    /// order from afresh after each confirmed fault, as the agent and `evaluate` run them.
    func measures(in dataset: Dataset, raw: Int, context: InputContext) -> [Key: (logSize: Double, rate: Double)] {
        var measures: [Key: (logSize: Double, rate: Double)] = [:]
        var state = State()
        for (example, afresh) in dataset.inLifeOrder(dataset.examples) {
            if afresh { state = State() }
            if let measured = measure(example.features, raw: raw, context: context, at: example.windowEnd, state: &state) {
                measures[Key(example)] = measured
            }
        }
        return measures
    }

    /// A logistic regression's intercept and weights of the log size and the rate, by Newton's
    /// method on the cross-entropy with a ridge only so slight that windows one line separates
    /// give finite weights (rates are hundredths per hour: a ridge that mattered would flatten
    /// their weight); nil unless both labels occur.
    public static func logisticWeights(_ examples: [(measure: (logSize: Double, rate: Double), label: Int)]) -> [Double]? {
        guard examples.contains(where: { $0.label == 1 }), examples.contains(where: { $0.label == 0 }) else { return nil }
        let ridge = 1e-6 * Double(examples.count)
        var weights = [0.0, 0.0, 0.0]
        for _ in 0..<100 {
            var gradient = [0.0, 0.0, 0.0], hessian = Array(repeating: [0.0, 0.0, 0.0], count: 3)
            for (measure, label) in examples {
                let x = [1, measure.logSize, measure.rate]
                let p = 1 / (1 + exp(-(weights[0] + weights[1] * x[1] + weights[2] * x[2])))
                for i in 0..<3 {
                    gradient[i] += (p - Double(label)) * x[i]
                    for j in 0..<3 { hessian[i][j] += p * (1 - p) * x[i] * x[j] }
                }
            }
            for i in 1..<3 {
                gradient[i] += ridge * weights[i]
                hessian[i][i] += ridge
            }
            guard let step = solve(hessian, gradient) else { return nil }
            for i in 0..<3 { weights[i] -= step[i] }
            if step.map(abs).max()! < 1e-10 { break }
        }
        return weights.allSatisfy(\.isFinite) ? weights : nil
    }

    /// `a` x = `b` for a 3 by 3 `a`, by Cramer's rule; nil if `a` is singular.
    private static func solve(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        func determinant(_ m: [[Double]]) -> Double {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        }
        let d = determinant(a)
        guard d != 0, d.isFinite else { return nil }
        return (0..<3).map { column in
            var m = a
            for row in 0..<3 { m[row][column] = b[row] }
            return determinant(m) / d
        }
    }
}
