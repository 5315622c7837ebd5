extension ModelBundle {
    /// Scores one window as every Vigil binary scores it (the agent, and the trainer's gate and
    /// evaluation): the raw inputs standardised with the manifest's means and scales, then each
    /// member's int8 network (or, to measure int8 against them, the bundle's `float` originals),
    /// averaged (`meanProbabilities`). `scratch` keeps the standardised inputs between calls, so
    /// scoring allocates nothing.
    public func probabilities(raw: [Double], scratch: inout [Double], into output: inout [Double], float: [FloatNetwork]? = nil) {
        scratch.removeAll(keepingCapacity: true)
        for index in raw.indices { scratch.append(manifest.standardised(raw[index], input: index)) }
        scratch.withUnsafeBufferPointer { inputs in
            Self.meanProbabilities(members: networks.count, classes: manifest.classes.count, into: &output) { member, output in
                if let float { float[member].predict(inputs, into: &output) } else { networks[member].predict(inputs, into: &output) }
            }
        }
    }

    /// Puts the bundle's degradation clock's probability of failing in `probabilities` (the
    /// networks' for one window) where it measures the window's network `inputs` at `time`,
    /// keeping the device's rate in `state` (every window of a device goes through, in time
    /// order; `DegradationClock`). Returns that probability; nil where the networks' stands.
    @discardableResult
    public func clocked(_ probabilities: inout [Double], inputs: [Double], at time: Double, state: inout DegradationClock.State) -> Double? {
        guard let clock = manifest.clock, let context = manifest.context,
              let measured = clock.measure(inputs, raw: manifest.inputs.count, context: context, at: time, state: &state) else { return nil }
        let failing = clock.probability(measured)
        DegradationClock.apply(failing, to: &probabilities, classes: manifest.classes)
        return failing
    }

    /// The probabilities of an ensemble: each member's outputs, as `predict(member, &output)`
    /// writes them, through softmax over the `classes` (a sigmoid for a single score), then their
    /// mean, in `output`.
    public static func meanProbabilities(members: Int, classes: Int, into output: inout [Double],
                                         _ predict: (Int, inout [Double]) -> Void) {
        let width = max(classes, 1)
        withUnsafeTemporaryAllocation(of: Double.self, capacity: width) { sum in
            sum.initialize(repeating: 0)
            for member in 0..<members {
                predict(member, &output)
                if classes > 1 {
                    Activations.softmax(&output)
                } else {
                    for index in output.indices { output[index] = Activations.sigmoid(output[index]) }
                }
                for index in 0..<width { sum[index] += output[index] }
            }
            for index in 0..<width { output[index] = sum[index] / Double(members) }
        }
    }

    /// The probability of trouble in `probabilities`: the failing classes' (`ModelManifest.trouble`).
    public func trouble(_ probabilities: [Double]) -> Double {
        ModelManifest.trouble(probabilities, classes: manifest.classes)
    }

    /// The fault mode of a device's window while it is in `alarm` (either alarm; none outside
    /// one): what the bundle's diagnosis names from its raw `inputs`, held through the alarm in
    /// `held`, or without one, the most likely failing class in `probabilities`
    /// (`ModelManifest.faultMode`) where the trouble reaches the alarm threshold. The failing
    /// classes learned the modes on failing windows; below that, how they split is a guess.
    public func faultMode(_ probabilities: [Double], inputs: [Double], alarm: Bool, held: inout FaultDiagnosis.State) -> String? {
        if let diagnosis = manifest.diagnosis, let anomaly = manifest.anomaly {
            return held.next(inputs, diagnosis: diagnosis, score: anomaly, alarm: alarm)
        }
        guard alarm, trouble(probabilities) >= manifest.alarm.threshold else { return nil }
        return ModelManifest.faultMode(probabilities, classes: manifest.classes)
    }
}

extension ModelBundle {
    /// Whether the bundle can score a window with some sensors' inputs put at healthy
    /// (`ModelManifest.knowsHealthyInputs`).
    public var scoresWithoutSensors: Bool { manifest.knowsHealthyInputs }

    /// Puts the network `inputs` of `sensors` where healthy windows have them
    /// (`ModelManifest.healthyInputs`); a sensor that is stuck or drifting then tells the model
    /// nothing rather than something false. Only for a bundle that `scoresWithoutSensors`.
    public func atHealthy(_ sensors: [String], _ inputs: inout [Double]) {
        guard !sensors.isEmpty, let healthy = manifest.healthyInputs, let context = manifest.context else { return }
        let raw = manifest.inputs.count
        for (index, input) in manifest.inputs.enumerated() where sensors.contains(input.sensor) {
            for at in context.positions(of: index, raw: raw) { inputs[at] = healthy[at] }
        }
    }

    /// The anomaly score's level of a window's network `inputs` (after `trusted`), leaving out the
    /// inputs of judged sensors far off alone (`SensorDriftCheck.alone`); nil without a score.
    public func anomalyLevel(_ inputs: [Double], stuck: [String] = []) -> Double? {
        guard let anomaly = manifest.anomaly else { return nil }
        let alone = manifest.sensorDrift?.alone(anomaly.departure(inputs), unknown: stuck) ?? []
        guard !alone.isEmpty else { return anomaly.level(inputs) }
        // A check implies a context and a score from the first relative input on: score input i
        // derives from raw input i modulo the raw count.
        let raw = manifest.inputs.count
        let leftOut = anomaly.centers.indices.map { alone.contains(manifest.inputs[(anomaly.firstInput + $0) % raw].sensor) }
        return anomaly.level(inputs, leavingOut: leftOut)
    }

    /// Judges a window's network `inputs` for drifting sensors (`SensorDriftCheck`, when the
    /// bundle has one; `stuck` sensors are not judged), then puts the stuck and the drifting
    /// sensors' inputs at healthy, so the model scores on the inputs it can trust. Returns the
    /// drifting sensors.
    public func trusted(_ inputs: inout [Double], stuck: [String], drift state: inout SensorDriftCheck.State, at time: Double) -> [String] {
        var drifting: [String] = []
        if let check = manifest.sensorDrift, let anomaly = manifest.anomaly {
            drifting = state.next(anomaly.departure(inputs), at: time, check: check, unknown: stuck)
        }
        atHealthy(stuck + drifting, &inputs)
        return drifting
    }
}
