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
        /// the alarm or the probability of trouble against the alert threshold changed.
        let changed: Bool
        /// Whether the device is in alarm: under the model's alarm policy (enough windows in a row
        /// at its threshold), or past the configured alert threshold.
        let alarm: Bool
        /// The probability of trouble (1 minus the first class's, or the score).
        let trouble: Double
        let latencySeconds: Double
    }

    /// One model's input drift: per input (`sensor.feature@window`), its PSI over recent windows.
    struct Drift {
        let profile: Int
        let model: String
        let inputs: [String]
        let psi: [Double]
    }

    private(set) var catalog: ModelCatalog
    /// The probability of trouble (1 minus the first class's, or the score) at which a device
    /// is reported even if the most likely class stays the same.
    let alertThreshold: Double?
    /// Per device: latest row per feature spec, and last predicted class and alert per model.
    private var latest: [String: [Int: [Double]]] = [:]
    private var states: [String: [String: (state: String, alert: Bool, alarm: AlarmPolicy.State)]] = [:]
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
    /// devices start afresh with it.
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
        states.removeAll()
    }

    /// Every running model's input drift, for the models that carry training deciles.
    var drifts: [Drift] {
        catalog.models.enumerated().flatMap { profile, models in
            models.compactMap { model -> Drift? in
                let manifest = model.bundle.manifest
                guard let psi = drift["\(profile)/\(manifest.name)"]?.psi else { return nil }
                return Drift(profile: profile, model: manifest.name,
                             inputs: manifest.inputs.map { "\($0.sensor).\($0.feature)@\($0.window.canonical)" }, psi: psi)
            }
        }
    }

    /// Forgets one device's rows and states: its machine was repaired.
    mutating func forget(device: String) {
        latest[device] = nil
        states[device] = nil
    }

    private mutating func forget(model name: String) {
        for device in states.keys { states[device]?[name] = nil }
    }

    /// Records a new feature row of `spec` for `device` (of profile `profile`); returns the
    /// predictions it completes.
    mutating func observe(device: String, profile: Int, spec: Int, values: [Double], windowEnd: Double) -> [Prediction] {
        let models = catalog.models[profile]
        guard !models.isEmpty else { return [] }
        latest[device, default: [:]][spec] = values
        var predictions: [Prediction] = []
        for model in models where model.trigger == spec {
            guard let rows = latest[device], model.slots.allSatisfy({ rows[$0.spec] != nil }) else { continue }
            let started = MonotonicClock.now()
            let manifest = model.bundle.manifest
            raw.removeAll(keepingCapacity: true)
            for slot in model.slots { raw.append(rows[slot.spec]![slot.column]) }
            if !manifest.inputDeciles.isEmpty {
                drift["\(profile)/\(manifest.name)", default: DriftMonitor(edges: manifest.inputDeciles)].observe(raw)
            }
            model.bundle.probabilities(raw: raw, scratch: &vector, into: &output)
            let probabilities = output
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            let predicted = manifest.classes.count > 1 ? manifest.classes[best]
                : (probabilities[0] >= 0.5 ? manifest.classes.first ?? "score" : "normal")
            let trouble = model.bundle.trouble(probabilities)
            let alert = alertThreshold.map { trouble >= $0 } ?? false
            let previous = states[device, default: [:]][manifest.name]
            var alarm = previous?.alarm ?? AlarmPolicy.State()
            let alarmed = alarm.next(trouble, policy: manifest.alarm)
            states[device, default: [:]][manifest.name] = (predicted, alert, alarm)
            let changed = previous == nil || previous!.state != predicted || previous!.alert != alert || previous!.alarm.on != alarmed
            predictions.append(Prediction(model: manifest.name, version: manifest.version, windowEnd: windowEnd,
                                          probabilities: probabilities, predicted: predicted, changed: changed,
                                          alarm: alarmed || alert, trouble: trouble, latencySeconds: MonotonicClock.now() - started))
        }
        return predictions
    }
}
