import VigilInference

extension FaultDiagnosis {
    /// How many inputs a diagnosis looks at: those that best tell the modes apart. Chosen on the
    /// tuning fleets among 3, 6 and 12 (all inputs named motors' bearing faults no better than
    /// the network did: the rest of the inputs move alike for every mode, or only with noise).
    static let inputsKept = 6

    /// Fitted on the failing windows of `train` whose coming fault's mode the events name: per
    /// mode with at least `minimumWindows` of them, their mean departure from healthy on the
    /// `inputsKept` inputs whose means differ most between modes against their spread within a
    /// mode, less the modes' average (what every fault does alike), made unit length; a mode is
    /// named once it leads by `sureMargin`. Nil with fewer than two such modes.
    public static func fitted(train: [Dataset.Example], score: AnomalyScore, minimumWindows: Int = 5) -> FaultDiagnosis? {
        let failing = Dictionary(grouping: train.filter { $0.label == 1 && $0.mode != nil }) { $0.mode! }
        var modes: [String] = [], means: [[Double]] = [], departures: [[[Double]]] = []
        for (mode, examples) in failing.sorted(by: { $0.key < $1.key }) where examples.count >= minimumWindows {
            let rows = examples.map { score.departure($0.features) }
            modes.append(mode)
            means.append(rows[0].indices.map { index in rows.reduce(0) { $0 + $1[index] } / Double(rows.count) })
            departures.append(rows)
        }
        guard modes.count >= 2 else { return nil }
        let average = means[0].indices.map { index in means.reduce(0) { $0 + $1[index] } / Double(means.count) }
        // Per input, the spread of the modes' means over the spread within a mode.
        let separation = average.indices.map { index -> Double in
            let between = means.reduce(0) { $0 + ($1[index] - average[index]) * ($1[index] - average[index]) } / Double(means.count)
            var within = 0.0, count = 0.0
            for (mode, rows) in departures.enumerated() {
                for row in rows { within += (row[index] - means[mode][index]) * (row[index] - means[mode][index]) }
                count += Double(rows.count)
            }
            return between / max(within / count, 1e-9)
        }
        let kept = Set(separation.indices.sorted { separation[$0] > separation[$1] }.prefix(inputsKept))
        let signatures = means.map { mean in
            let specific = mean.indices.map { kept.contains($0) ? mean[$0] - average[$0] : 0 }
            let length = specific.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return specific.map { length > 0 ? $0 / length : 0 }
        }
        return FaultDiagnosis(modes: modes, signatures: signatures, margin: sureMargin)
    }

    /// A diagnosis fitted on the training split and how it named the modes of validation's
    /// failing windows, beside what naming always the commonest mode, and the network, did.
    public struct Choice: Sendable {
        public var diagnosis: FaultDiagnosis
        /// Of validation's failing windows whose coming fault's mode the events name, the share
        /// named right by the diagnosis (naming every window), by the commonest mode of the
        /// training split, and by the network's failing classes (nil without them).
        public var named: Double
        public var commonest: Double
        public var network: Double?

        /// Whether it names them better than the commonest mode and at least as well as the
        /// network, and so goes into the bundle.
        public var kept: Bool { named > commonest && named >= (network ?? 0) }
    }

    /// The diagnosis fitted on `train`, judged on `validation`'s failing windows against always
    /// naming the commonest mode and against the network (`networkModes`: what its failing
    /// classes name for each validation window; nil for a network without them); nil when none
    /// can be fitted.
    static func chosen(train: [Dataset.Example], validation: [Dataset.Example], score: AnomalyScore,
                       networkModes: [String?]?) -> Choice? {
        guard let fitted = fitted(train: train, score: score) else { return nil }
        let counts = Dictionary(grouping: train.compactMap { $0.label == 1 ? $0.mode : nil }) { $0 }.mapValues(\.count)
        let commonest = counts.max { $0.value < $1.value }?.key
        return Choice(diagnosis: fitted,
                      named: fitted.namedRight(validation, score: score) ?? 0,
                      commonest: accuracy(validation, named: validation.map { _ in commonest }) ?? 0,
                      network: networkModes.flatMap { accuracy(validation, named: $0) })
    }

    /// Of `examples`' failing windows whose coming fault's mode the events name, the share this
    /// diagnosis names right when it names every window, as the network's classes do (margin 0);
    /// nil without any.
    func namedRight(_ examples: [Dataset.Example], score: AnomalyScore) -> Double? {
        var always = self
        always.margin = 0
        return Self.accuracy(examples, named: examples.map { always.mode($0.features, score: score) })
    }

    /// Of `examples`' failing windows whose coming fault's mode the events name, the share whose
    /// mode `named` (one per example) gets right; nil without any.
    private static func accuracy(_ examples: [Dataset.Example], named: [String?]) -> Double? {
        let known = examples.indices.filter { examples[$0].label == 1 && examples[$0].mode != nil }
        guard !known.isEmpty else { return nil }
        return Double(known.filter { named[$0] == examples[$0].mode }.count) / Double(known.count)
    }
}
