import VigilInference

/// How a model did on held-out windows: accuracy, macro-F1, per-class precision and recall, the
/// confusion matrix and ROC-AUC of "failing". The trainer evaluates the int8 model (what agents
/// run) and its float original beside it.
public struct Evaluation: Sendable {
    public var examples: Int
    public var accuracy: Double
    public var macroF1: Double
    public var precision: [Double]
    public var recall: [Double]
    /// `confusion[truth][predicted]`.
    public var confusion: [[Int]]
    /// Area under the ROC curve of the last class's probability (failing), nil with one class.
    public var rocAUC: Double?
    /// The ROC curve of failing: (false positive rate, true positive rate) from the strictest
    /// threshold to the loosest.
    public var rocCurve: [(falsePositiveRate: Double, truePositiveRate: Double)] = []

    /// Scores a model's predicted `probabilities` against `truth`.
    public init(truth: [Int], probabilities: [[Double]], classes: Int) {
        let predicted = probabilities.map(Self.argmax)
        examples = truth.count
        var confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        for (t, p) in zip(truth, predicted) { confusion[t][p] += 1 }
        self.confusion = confusion
        accuracy = truth.isEmpty ? 0 : Double(zip(truth, predicted).filter { $0 == $1 }.count) / Double(truth.count)
        let precision = (0..<classes).map { c in
            let column = (0..<classes).reduce(0) { $0 + confusion[$1][c] }
            return column == 0 ? 0.0 : Double(confusion[c][c]) / Double(column)
        }
        let recall = (0..<classes).map { c in
            let row = confusion[c].reduce(0, +)
            return row == 0 ? 0.0 : Double(confusion[c][c]) / Double(row)
        }
        self.precision = precision
        self.recall = recall
        let f1 = zip(precision, recall).map { p, r in p + r == 0 ? 0 : 2 * p * r / (p + r) }
        macroF1 = f1.reduce(0, +) / Double(max(classes, 1))
        // AUC as the probability that a failing window outscores a healthy one (ties count half).
        let positive = zip(truth, probabilities).filter { $0.0 == classes - 1 }.map { $0.1[classes - 1] }
        let negative = zip(truth, probabilities).filter { $0.0 != classes - 1 }.map { $0.1[classes - 1] }
        if classes > 1, !positive.isEmpty, !negative.isEmpty {
            var wins = 0.0
            for p in positive { for n in negative { wins += p > n ? 1 : p == n ? 0.5 : 0 } }
            rocAUC = wins / Double(positive.count * negative.count)
            var curve = [(falsePositiveRate: 0.0, truePositiveRate: 0.0)]
            var truePositives = 0.0, falsePositives = 0.0
            for (score, isPositive) in (positive.map { ($0, true) } + negative.map { ($0, false) }).sorted(by: { $0.0 > $1.0 }) {
                _ = score
                if isPositive { truePositives += 1 } else { falsePositives += 1 }
                curve.append((falsePositives / Double(negative.count), truePositives / Double(positive.count)))
            }
            rocCurve = curve
        } else {
            rocAUC = nil
        }
    }

    /// Failing within the horizon or not, whatever the failing class (mode): the failing
    /// classes' probability against the rest (`ModelManifest.trouble`).
    public static func failingOrNot(_ probabilities: [Double], classes: [String]) -> [Double] {
        let trouble = ModelManifest.trouble(probabilities, classes: classes)
        return [1 - trouble, trouble]
    }

    /// The share of windows where two models predict the same class (int8 against float).
    public static func agreement(_ a: [[Double]], _ b: [[Double]]) -> Double {
        a.isEmpty ? 0 : Double(zip(a, b).filter { argmax($0) == argmax($1) }.count) / Double(a.count)
    }

    static func argmax(_ values: [Double]) -> Int { values.indices.max { values[$0] < values[$1] } ?? 0 }
}
