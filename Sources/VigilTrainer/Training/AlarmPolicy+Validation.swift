import VigilInference

extension AlarmPolicy {
    /// The policy that best separates failing windows from healthy ones on validation data (the
    /// F1 of "alarm" against "failing", each device's windows in time order); among equals, the
    /// stricter one (more windows in a row, then a higher threshold).
    static func chosen(trouble: [Double], labels: [Int], devices: [String]) -> AlarmPolicy {
        var best = (policy: AlarmPolicy.single, f1: -1.0)
        for consecutive in 1...3 {
            for threshold in [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99] {
                let policy = AlarmPolicy(threshold: threshold, consecutive: consecutive)
                var states: [String: State] = [:]
                var truePositives = 0, falsePositives = 0, falseNegatives = 0
                for index in trouble.indices {
                    let alarm = states[devices[index], default: State()].next(trouble[index], policy: policy)
                    switch (alarm, labels[index] == 1) {
                    case (true, true): truePositives += 1
                    case (true, false): falsePositives += 1
                    case (false, true): falseNegatives += 1
                    case (false, false): break
                    }
                }
                let f1 = truePositives == 0 ? 0 : 2 * Double(truePositives) / Double(2 * truePositives + falsePositives + falseNegatives)
                if f1 >= best.f1 - 1e-12 { best = (policy, f1) }
            }
        }
        return best.policy
    }
}
