import VigilInference

extension SensorDriftCheck {
    /// The largest share of the training fleet's devices in which a sensor may be found drifting
    /// and still be judged (one device always may): above it, the machine's own wear moves that
    /// sensor alone.
    static let largestShareFound = 0.1

    /// Fitted on the training split: the check of every sensor with a `mean` input, run device
    /// life by device life (a fault ends a life) as the agent would, keeps the sensors it found
    /// drifting in at most `largestShareFound` of the devices, or in one. A fan's vibration, which
    /// wear raises days before its temperature, is found in most fans and left out; a sensor
    /// that drifts in a device of the training fleet (in each of its lives: a drift outlasts
    /// repairs) does not rule itself out. Nil for a model without a context
    /// (absolute levels differ from machine to machine) or when no sensor is left.
    public static func fitted(train: [Dataset.Example], in dataset: Dataset, inputs: [ModelManifest.Input], score: AnomalyScore) -> SensorDriftCheck? {
        let sensors = levels(inputs).map(\.sensor)
        guard score.firstInput == inputs.count, !sensors.isEmpty, let all = SensorDriftCheck(sensors: sensors, inputs: inputs) else { return nil }
        var found: [String: Set<String>] = [:]
        var state = State()
        for (example, afresh) in dataset.inLifeOrder(train) {
            if afresh { state = State() }
            for sensor in state.next(score.departure(example.features), at: example.windowEnd, check: all) {
                found[sensor, default: []].insert(example.device)
            }
        }
        let devices = Set(train.map(\.device)).count
        let kept = sensors.filter { Double(found[$0]?.count ?? 0) <= max(1, largestShareFound * Double(devices)) }
        return kept.isEmpty ? nil : SensorDriftCheck(sensors: kept, inputs: inputs)
    }
}
