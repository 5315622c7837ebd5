import VigilCore
import VigilInference

/// Scores feature windows with the installed models: keeps each device's latest row per
/// feature spec, and when the row a model waits for arrives, scores it as every Vigil binary
/// does (`ModelBundle.probabilities`).
struct ModelScoring {
    /// One scored window.
    struct Prediction {
        let model: String
        let version: String
        let windowEnd: Double
        let probabilities: [Double]
        let predicted: String
        /// Whether the predicted class differs from the device's previous one for this model, or
        /// the alarm, the probability of trouble against the alert threshold or the fault mode
        /// named changed.
        let changed: Bool
        /// Whether the device is in alarm: under the model's alarm policy (enough windows in a row
        /// at its threshold), or past the configured alert threshold.
        let alarm: Bool
        /// The probability of trouble (1 minus the first class's, or the score).
        let trouble: Double
        /// With an anomaly score in the bundle: the window's level, whether it is in alarm, and
        /// the three inputs furthest from healthy.
        let anomaly: Double?
        let anomalyAlarm: Bool
        let anomalyInputs: [String]
        /// While either alarm is on, the fault mode the model names (its diagnosis, once sure, or
        /// its most likely failing class): what to look for.
        let faultMode: String?
        /// What is wrong with the device's data (`DataQuality`), by name.
        let sensorFaults: [String]
        /// The sensors whose window read one value throughout, and those judged drifting
        /// (`SensorDriftCheck`): the model took their inputs at healthy.
        let stuckSensors: [String]
        let driftingSensors: [String]
        let latencySeconds: Double

        /// The stuck and drifting sensors as the predictions table keeps them:
        /// `drift:pressure,stuck:flow`, sorted; empty when none.
        var suspectSensors: String {
            (stuckSensors.map { "stuck:\($0)" } + driftingSensors.map { "drift:\($0)" }).sorted().joined(separator: ",")
        }

        /// The device's health message (`vigil/<agent>/health/<device>`).
        func health(device: String) -> JSONValue {
            [
                "device": .string(device), "model": .string(model), "version": .string(version), "state": .string(predicted),
                "alarm": .bool(alarm), "anomaly": anomaly.map(JSONValue.number) ?? .null, "anomaly_alarm": .bool(anomalyAlarm),
                "anomaly_inputs": .array(anomalyInputs.map(JSONValue.string)),
                "probabilities": .array(probabilities.map(JSONValue.number)), "window_end": .number(windowEnd),
                "fault_mode": faultMode.map(JSONValue.string) ?? .null,
                "sensor_faults": .array((sensorFaults + (stuckSensors.isEmpty ? [] : ["stuck"]) + (driftingSensors.isEmpty ? [] : ["drift"]))
                    .sorted().map(JSONValue.string)),
                "suspect_sensors": .array(Set(stuckSensors + driftingSensors).sorted().map(JSONValue.string)),
            ]
        }
    }

    /// A window a model did not score because one of its inputs came from a window whose sensor
    /// read one value throughout (stuck), and the model cannot do without that sensor (its
    /// inputs have no context): the model says so rather than score a blind input.
    struct Abstention {
        let model: String
        let version: String
        let windowEnd: Double
        /// The sensors whose windows were constant.
        let sensors: [String]
        /// What else is wrong with the device's data (`DataQuality`), by name.
        let sensorFaults: [String]
        /// Whether the device's previous window under this model was scored (or none was), or its
        /// sensor faults changed.
        let changed: Bool

        /// The device's health message: its state is unknown, and why.
        func health(device: String) -> JSONValue {
            [
                "device": .string(device), "model": .string(model), "version": .string(version), "state": "unknown",
                "reason": .string("constant readings (stuck sensor): \(sensors.joined(separator: ", "))"),
                "suspect_sensors": .array(sensors.map(JSONValue.string)), "window_end": .number(windowEnd),
                "sensor_faults": .array((["stuck"] + sensorFaults).sorted().map(JSONValue.string)),
            ]
        }
    }

    /// One model's input drift: per input (`sensor.feature@window`), its PSI over its last
    /// `windows` scored windows.
    struct Drift {
        let profile: Int
        let model: String
        let version: String
        let windows: Int
        let inputs: [String]
        let psi: [Double]
    }

    private(set) var catalog: ModelCatalog
    /// The probability of trouble (1 minus the first class's, or the score) at which a device
    /// is reported even if the most likely class stays the same.
    let alertThreshold: Double?
    /// One device's state under one model, from its installation or last repair.
    private struct DeviceState {
        var context = InputContext.State()
        var predicted: String?
        var alert = false
        var alarm = AlarmPolicy.State()
        var anomalyAlarm = AlarmPolicy.State()
        /// The fault mode named through the current alarm, and the one last reported.
        var modeThroughAlarm = FaultDiagnosis.State()
        var faultMode: String?
        /// The sensor faults last reported.
        var sensorFaults: [String] = []
        var drift = SensorDriftCheck.State()
        var clock = DegradationClock.State()
        /// The sensors last found stuck and drifting.
        var stuck: [String] = []
        var drifting: [String] = []

        /// Keeps the sensors found stuck and drifting in this window; returns whether they moved.
        mutating func suspect(stuck: [String], drifting: [String]) -> Bool {
            defer { (self.stuck, self.drifting) = (stuck, drifting) }
            return self.stuck != stuck || self.drifting != drifting
        }
    }

    /// What one feature row did: the predictions it completed, and the models that took it into
    /// the device's baseline instead of scoring it (`InputContext`).
    struct Observation {
        var predictions: [Prediction] = []
        var learning: [String] = []
        var abstentions: [Abstention] = []
        /// Whether a model found or cleared a stuck or drifting sensor (`suspectDevices` moved).
        var suspectsChanged = false
    }

    /// Per device: latest row per feature spec, the specs whose latest row was constant, and its
    /// state per model.
    private var latest: [String: [Int: [Double]]] = [:]
    private var constant: [String: Set<Int>] = [:]
    private var states: [String: [String: DeviceState]] = [:]
    private var inputs: [Double] = []
    private var vector: [Double] = []
    private var raw: [Double] = []
    private var output: [Double] = []
    /// Per model (`profile/name`), its inputs' drift over the windows it scored, fleet-wide.
    private var drift: [String: DriftMonitor] = [:]

    init(catalog: ModelCatalog, alertThreshold: Double?) {
        self.catalog = catalog
        self.alertThreshold = alertThreshold
    }

    /// Runs `model` for profile `profile` from now on, in place of any model of the same name;
    /// devices start afresh with it (`Ingestor.warmUp` replays their windows since their last
    /// repair, so its baselines need not be learned again).
    mutating func install(_ model: ModelCatalog.Installed, profile: Int) {
        catalog.install(model, profile: profile)
        forget(model: model.bundle.manifest.name)
        drift["\(profile)/\(model.bundle.manifest.name)"] = nil
    }

    /// Stops running the model `name` for profile `profile`.
    mutating func remove(name: String, profile: Int) {
        catalog.remove(name: name, profile: profile)
        forget(model: name)
    }

    /// Forgets every device's rows and states, after a rollback of the transaction they came from.
    mutating func forgetHistory() {
        latest.removeAll()
        constant.removeAll()
        states.removeAll()
    }

    /// Every running model's input drift, for the models that carry training deciles.
    var drifts: [Drift] {
        catalog.models.enumerated().flatMap { profile, models in
            models.compactMap { model -> Drift? in
                let manifest = model.bundle.manifest
                guard let monitor = drift["\(profile)/\(manifest.name)"], let psi = monitor.psi else { return nil }
                return Drift(profile: profile, model: manifest.name, version: manifest.version, windows: monitor.windows,
                             inputs: manifest.inputs.map { "\($0.sensor).\($0.feature)@\($0.window.canonical)" }, psi: psi)
            }
        }
    }

    /// How many devices have a sensor that one of their models last found stuck, and drifting.
    var suspectDevices: (stuck: Int, drift: Int) {
        var counts = (stuck: 0, drift: 0)
        for models in states.values {
            if models.values.contains(where: { !$0.stuck.isEmpty }) { counts.stuck += 1 }
            if models.values.contains(where: { !$0.drifting.isEmpty }) { counts.drift += 1 }
        }
        return counts
    }

    /// Forgets one device's rows and states: its machine was repaired. Returns whether a model
    /// had found one of its sensors stuck or drifting (`suspectDevices` moved).
    @discardableResult
    mutating func forget(device: String) -> Bool {
        latest[device] = nil
        constant[device] = nil
        let suspected = states[device]?.values.contains { !$0.stuck.isEmpty || !$0.drifting.isEmpty } ?? false
        states[device] = nil
        return suspected
    }

    private mutating func forget(model name: String) {
        for device in states.keys { states[device]?[name] = nil }
    }

    /// Records a new feature row of `spec` for `device` (of profile `profile`), `constant` if its
    /// sensor read one value throughout, with what is wrong with the device's data: the
    /// predictions it completes, for every model or only the one named `only` (a replay warming
    /// that model up).
    mutating func observe(device: String, profile: Int, spec: Int, values: [Double], windowEnd: Double, constant isConstant: Bool = false,
                          sensorFaults: [String] = [], only: String? = nil) -> Observation {
        let models = catalog.models[profile]
        guard !models.isEmpty else { return Observation() }
        latest[device, default: [:]][spec] = values
        if isConstant {
            constant[device, default: []].insert(spec)
        } else if constant[device]?.remove(spec) != nil, constant[device]!.isEmpty {
            constant[device] = nil
        }
        var observation = Observation()
        for model in models where model.trigger == spec && (only == nil || model.bundle.manifest.name == only) {
            guard let rows = latest[device], model.slots.allSatisfy({ rows[$0.spec] != nil }) else { continue }
            let started = MonotonicClock.now()
            let manifest = model.bundle.manifest
            var state = states[device]?[manifest.name] ?? DeviceState()
            var stuckSensors: [String] = []
            if let suspect = constant[device] {
                stuckSensors = Set(zip(manifest.inputs, model.slots).filter { suspect.contains($1.spec) }.map(\.0.sensor)).sorted()
            }
            if !stuckSensors.isEmpty, !model.bundle.scoresWithoutSensors {
                observation.abstentions.append(Abstention(model: manifest.name, version: manifest.version, windowEnd: windowEnd,
                                                          sensors: stuckSensors, sensorFaults: sensorFaults,
                                                          changed: state.predicted != "unknown" || state.sensorFaults != sensorFaults))
                state.predicted = "unknown"
                state.sensorFaults = sensorFaults
                // A model that abstains has no context, so no drift check either.
                if state.suspect(stuck: stuckSensors, drifting: []) { observation.suspectsChanged = true }
                states[device, default: [:]][manifest.name] = state
                continue
            }
            raw.removeAll(keepingCapacity: true)
            for slot in model.slots { raw.append(rows[slot.spec]![slot.column]) }
            if !manifest.inputDeciles.isEmpty {
                drift["\(profile)/\(manifest.name)", default: DriftMonitor(edges: manifest.inputDeciles)].observe(raw)
            }
            if let context = manifest.context {
                guard state.context.next(raw, at: windowEnd, context: context, into: &inputs) else {
                    states[device, default: [:]][manifest.name] = state
                    observation.learning.append(manifest.name)
                    continue
                }
            } else {
                inputs = raw
            }
            let drifting = model.bundle.trusted(&inputs, stuck: stuckSensors, drift: &state.drift, at: windowEnd)
            model.bundle.probabilities(raw: inputs, scratch: &vector, into: &output)
            model.bundle.clocked(&output, inputs: inputs, at: windowEnd, state: &state.clock)
            let probabilities = output
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            let predicted = manifest.classes.count > 1 ? manifest.classes[best]
                : (probabilities[0] >= 0.5 ? manifest.classes.first ?? "score" : "normal")
            let trouble = model.bundle.trouble(probabilities)
            let alert = alertThreshold.map { trouble >= $0 } ?? false
            let wasOn = state.alarm.on, anomalyWasOn = state.anomalyAlarm.on
            let alarmed = state.alarm.next(trouble, policy: manifest.alarm)
            var anomaly: Double?, anomalous = false, furthest: [String] = []
            if let score = manifest.anomaly, let level = model.bundle.anomalyLevel(inputs, stuck: stuckSensors) {
                anomaly = level
                anomalous = state.anomalyAlarm.next(level, policy: score.alarm)
                furthest = score.furthest(inputs, count: 3).map { model.inputNames[$0] }
            }
            let faultMode = model.bundle.faultMode(probabilities, inputs: inputs, alarm: alarmed || alert || anomalous, held: &state.modeThroughAlarm)
            let suspectsMoved = state.suspect(stuck: stuckSensors, drifting: drifting)
            if suspectsMoved { observation.suspectsChanged = true }
            let changed = state.predicted != predicted || state.alert != alert || wasOn != alarmed || anomalyWasOn != anomalous
                || state.sensorFaults != sensorFaults || suspectsMoved || state.faultMode != faultMode
            state.predicted = predicted
            state.faultMode = faultMode
            state.alert = alert
            state.sensorFaults = sensorFaults
            states[device, default: [:]][manifest.name] = state
            observation.predictions.append(Prediction(model: manifest.name, version: manifest.version, windowEnd: windowEnd,
                                                      probabilities: probabilities, predicted: predicted, changed: changed,
                                                      alarm: alarmed || alert, trouble: trouble, anomaly: anomaly, anomalyAlarm: anomalous,
                                                      anomalyInputs: furthest,
                                                      faultMode: faultMode, sensorFaults: sensorFaults,
                                                      stuckSensors: stuckSensors, driftingSensors: drifting,
                                                      latencySeconds: MonotonicClock.now() - started))
        }
        return observation
    }
}
