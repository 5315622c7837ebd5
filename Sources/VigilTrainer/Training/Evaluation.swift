/// How a model did on held-out windows: accuracy, macro-F1, per-class precision and recall, the
/// confusion matrix, ROC-AUC of "failing", and how often its int8 version agrees with it.
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
    /// Share of windows where the int8 model's class equals the float model's.
    public var int8Agreement: Double
    /// The ROC curve of failing: (false positive rate, true positive rate) from the strictest
    /// threshold to the loosest.
    public var rocCurve: [(falsePositiveRate: Double, truePositiveRate: Double)] = []

    /// Scores predicted probabilities (`float` and `int8`) against `truth`.
    public init(truth: [Int], float: [[Double]], int8: [[Double]], classes: Int) {
        func argmax(_ values: [Double]) -> Int { values.indices.max { values[$0] < values[$1] } ?? 0 }
        let predicted = float.map(argmax)
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
        int8Agreement = truth.isEmpty ? 0 : Double(zip(float, int8).filter { argmax($0) == argmax($1) }.count) / Double(truth.count)
        // AUC as the probability that a failing window outscores a healthy one (ties count half).
        let positive = zip(truth, float).filter { $0.0 == classes - 1 }.map { $0.1[classes - 1] }
        let negative = zip(truth, float).filter { $0.0 != classes - 1 }.map { $0.1[classes - 1] }
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
}
