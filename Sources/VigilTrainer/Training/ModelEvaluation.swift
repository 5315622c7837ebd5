import VigilCore
import VigilInference

/// A signed bundle scored on every labelled window of a dataset in int8 with the agent's own
/// scoring (`ModelBundle.probabilities`): the classification metrics and what its alarms would
/// have meant to a maintenance team.
public struct ModelEvaluation: Sendable {
    public var model: String
    public var version: String
    /// "int8", as agents score, or "float", the float original's.
    public var arithmetic: String
    public var deviceType: String
    public var devices: Int
    public var metrics: Evaluation
    public var alarms: AlarmEvaluation
    public var alarmPolicy: AlarmPolicy
    /// The anomaly score's alarms, when the bundle has one (`AnomalyScore`).
    public var anomalyAlarms: AlarmEvaluation?
    /// A window in either alarm (the classifier's or the anomaly score's), as a maintenance team
    /// reading the health messages would act, when the bundle has an anomaly score.
    public var eitherAlarm: AlarmEvaluation?
    /// Per device, the sensors the bundle's drift check found drifting at some window
    /// (`SensorDriftCheck`); those windows were scored with the sensors' inputs at healthy.
    public var driftingSensors: [String: [String]]
    /// The sensors the bundle judges for drift.
    public var sensorsJudged: [String]
    /// Windows with a stuck sensor (its window read one value throughout): scored with its
    /// inputs at healthy, or by a bundle that cannot do without it, not scored (as on the agent).
    public var stuckWindows: Int
    public var stuckWindowsNotScored: Int
    /// Every window scored, by device and time: what `evaluate --windows` writes, to look at
    /// where a model goes wrong.
    public var scored: [ScoredWindow]

    /// One window as the bundle scored it.
    public struct ScoredWindow: Sendable {
        /// The device, the window's end, its label and the classifier's alarm and mode named.
        public var window: AlarmEvaluation.Window
        /// The probability of failing within the horizon, whatever the mode.
        public var failing: Double
        /// The anomaly score's level and alarm; nil for a bundle without one.
        public var anomaly: Double?
        public var anomalyAlarm: Bool?
        /// Hours until the device's next confirmed fault; nil if none follows.
        public var hoursToFault: Double?
    }

    /// Scores `bundle` on `dataset` (whose features must be the model's inputs, in order); with
    /// `lives` (device name to its lives' onset and failure, from a simulator's ground truth, with
    /// `faultySensors` the devices whose sensors it made faulty) the
    /// lead times are also given as shares of each degradation. With `float`, the bundle's float
    /// originals (`train` writes them beside the bundle) score instead of the int8 networks: the
    /// same standardisation, alarm policies and anomaly score, so int8 can be measured against it.
    public init(bundle: ModelBundle, dataset: Dataset, lives: [String: [(onset: Double, failure: Double)]] = [:], faultySensors: Set<String> = [],
                sustain: Int = 3, float: [FloatNetwork]? = nil) throws(EvaluationError) {
        let manifest = bundle.manifest
        let inputs = manifest.networkInputNames
        guard inputs == dataset.featureNames else {
            throw EvaluationError("the model takes \(inputs.joined(separator: ", ")); the data have \(dataset.featureNames.joined(separator: ", "))")
        }
        guard !dataset.examples.isEmpty else { throw EvaluationError("no labelled windows to score") }
        if let float, float.count != manifest.members
            || float.contains(where: { $0.layers[0].inputs != manifest.networkInputs || $0.layers.last!.outputs != manifest.classes.count })
            || zip(float, bundle.networks).contains(where: { $0.layers.count != $1.layers.count }) {
            throw EvaluationError("the float networks (\(float.count)) do not match the bundle's \(manifest.members), "
                                  + "each of \(bundle.networks[0].layers.count) layers taking \(manifest.networkInputs) inputs "
                                  + "and giving \(manifest.classes.count) outputs")
        }
        var output: [Double] = [], scratch: [Double] = []
        var probabilities: [[Double]] = []
        var windows: [AlarmEvaluation.Window] = [], anomalous: [AlarmEvaluation.Window] = [], either: [AlarmEvaluation.Window] = []
        var scored: [ScoredWindow] = []
        var states: [String: AlarmPolicy.State] = [:], anomalyStates: [String: AlarmPolicy.State] = [:]
        var driftStates: [String: SensorDriftCheck.State] = [:], drifting: [String: Set<String>] = [:]
        var modeStates: [String: FaultDiagnosis.State] = [:], clockStates: [String: DegradationClock.State] = [:]
        // Each device's windows in time order, through the bundle's alarm policy as on the agent,
        // whose alarm states start afresh after a fault's repair.
        for (example, afresh) in dataset.inLifeOrder(dataset.examples.filter { $0.stuckSensors.isEmpty || bundle.scoresWithoutSensors }) {
            if afresh {
                states[example.device] = nil
                anomalyStates[example.device] = nil
                driftStates[example.device] = nil
                modeStates[example.device] = nil
                clockStates[example.device] = nil
            }
            var features = example.features
            let found = bundle.trusted(&features, stuck: example.stuckSensors, drift: &driftStates[example.device, default: SensorDriftCheck.State()],
                                       at: example.windowEnd)
            if !found.isEmpty { drifting[example.device, default: []].formUnion(found) }
            bundle.probabilities(raw: features, scratch: &scratch, into: &output, float: float)
            bundle.clocked(&output, inputs: features, at: example.windowEnd, state: &clockStates[example.device, default: DegradationClock.State()])
            let p = output
            // Failing within the horizon or not, whatever the mode.
            let failingOrNot = Evaluation.failingOrNot(p, classes: manifest.classes)
            probabilities.append(failingOrNot)
            let alarm = states[example.device, default: AlarmPolicy.State()].next(bundle.trouble(p), policy: manifest.alarm)
            var on: Bool?, level: Double?
            if let anomaly = manifest.anomaly, let anomalyLevel = bundle.anomalyLevel(features, stuck: example.stuckSensors) {
                level = anomalyLevel
                on = anomalyStates[example.device, default: AlarmPolicy.State()].next(anomalyLevel, policy: anomaly.alarm)
            }
            // The bundle names the mode (its diagnosis, or the most likely failing class) while
            // either alarm is on, as on the agent.
            let mode = bundle.faultMode(p, inputs: features, alarm: alarm || on == true, held: &modeStates[example.device, default: FaultDiagnosis.State()])
            let window = AlarmEvaluation.Window(device: example.device, end: example.windowEnd, label: example.label, alarm: alarm, mode: mode)
            windows.append(window)
            if let on {
                var judged = window
                judged.alarm = on
                anomalous.append(judged)
                judged.alarm = on || alarm
                either.append(judged)
            }
            let fault = dataset.faults[example.device]?.next(atOrAfter: example.windowEnd)
            scored.append(ScoredWindow(window: window, failing: failingOrNot[1], anomaly: level, anomalyAlarm: on,
                                       hoursToFault: fault.map { ($0.time - example.windowEnd) / 3600 }))
        }
        self.scored = scored
        arithmetic = float == nil ? "int8" : "float"
        driftingSensors = drifting.mapValues { $0.sorted() }
        sensorsJudged = manifest.sensorDrift?.sensors ?? []
        stuckWindows = dataset.examples.count { !$0.stuckSensors.isEmpty }
        stuckWindowsNotScored = bundle.scoresWithoutSensors ? 0 : stuckWindows
        model = manifest.name
        version = manifest.version
        alarmPolicy = manifest.alarm
        deviceType = manifest.deviceTypes.first ?? ""
        devices = dataset.spans.count
        metrics = Evaluation(truth: windows.map(\.label), probabilities: probabilities, classes: 2)
        // The store names a device `agent/device`; the ground truth knows it by its own name.
        var onsets: [String: [(onset: Double, failure: Double)]] = [:]
        var faulty: Set<String> = []
        for device in dataset.spans.keys {
            let name = String(device.split(separator: "/").last ?? "")
            if let known = lives[name] { onsets[device] = known }
            if faultySensors.contains(name) { faulty.insert(device) }
        }
        func evaluated(_ windows: [AlarmEvaluation.Window]) -> AlarmEvaluation {
            AlarmEvaluation(windows: windows, faults: dataset.faults, spans: dataset.spans, sustain: sustain, onsets: onsets, faultySensors: faulty)
        }
        alarms = evaluated(windows)
        anomalyAlarms = manifest.anomaly == nil ? nil : evaluated(anomalous)
        eitherAlarm = manifest.anomaly == nil ? nil : evaluated(either)
    }

    /// The figures as JSON, for scripts that compare fleets.
    public var json: JSONValue {
        let failing = metrics.precision.count - 1
        return [
            "model": .string(model), "version": .string(version), "arithmetic": .string(arithmetic), "device_type": .string(deviceType),
            "devices": .number(Double(devices)), "windows": .number(Double(metrics.examples)),
            "alarm_threshold": .number(alarmPolicy.threshold), "alarm_consecutive": .number(Double(alarmPolicy.consecutive)),
            "device_days": .number(alarms.deviceDays),
            "accuracy": .number(metrics.accuracy), "macro_f1": .number(metrics.macroF1),
            "roc_auc": metrics.rocAUC.map(JSONValue.number) ?? .null,
            "precision_failing": .number(metrics.precision[failing]), "recall_failing": .number(metrics.recall[failing]),
            "false_alarm_windows_per_device_day": .number(alarms.falseAlarmWindowsPerDeviceDay),
            "sustained_false_alarms_per_device_day": .number(alarms.sustainedFalseAlarmsPerDeviceDay),
            "sustained_alarms_on_healthy_machines_per_device_day": alarms.sustainedAlarmsOnHealthyMachinesPerDeviceDay.map(JSONValue.number) ?? .null,
            "sustained_alarms_on_healthy_machines_with_sound_sensors_per_device_day":
                alarms.sustainedAlarmsOnHealthySoundMachinesPerDeviceDay.map(JSONValue.number) ?? .null,
            "failures": .number(Double(alarms.failures)), "failures_alarmed_before": .number(Double(alarms.caught)),
            "share_alarmed_before": alarms.failures == 0 ? .null : .number(Double(alarms.caught) / Double(alarms.failures)),
            "median_lead_hours": alarms.medianLeadHours.map(JSONValue.number) ?? .null,
            "median_lead_share_of_degradation": alarms.medianLeadShare.map(JSONValue.number) ?? .null,
            "fault_mode_right_at_alarm": alarms.modeRightAtAlarm.map(JSONValue.number) ?? .null,
            "fault_mode_named_during_alarm": alarms.modeNamedShare.map(JSONValue.number) ?? .null,
            "fault_mode_median_hours_after_alarm": alarms.medianModeHours.map(JSONValue.number) ?? .null,
            "by_mode": Self.byMode(alarms),
            "anomaly": anomalyAlarms.map(Self.alarmFigures) ?? .null,
            "either_alarm": eitherAlarm.map(Self.alarmFigures) ?? .null,
            "stuck_windows": .number(Double(stuckWindows)), "stuck_windows_not_scored": .number(Double(stuckWindowsNotScored)),
            "sensors_judged_for_drift": .array(sensorsJudged.map(JSONValue.string)),
            "drifting_sensors": .object(driftingSensors.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map(JSONValue.string))) }),
        ]
    }

    /// The figures of an alarm other than the classifier's.
    private static func alarmFigures(_ alarms: AlarmEvaluation) -> JSONValue {
        [
            "failures_alarmed_before": .number(Double(alarms.caught)),
            "median_lead_hours": alarms.medianLeadHours.map(JSONValue.number) ?? .null,
            "median_lead_share_of_degradation": alarms.medianLeadShare.map(JSONValue.number) ?? .null,
            "sustained_alarms_on_healthy_machines_per_device_day": alarms.sustainedAlarmsOnHealthyMachinesPerDeviceDay.map(JSONValue.number) ?? .null,
            "sustained_alarms_on_healthy_machines_with_sound_sensors_per_device_day":
                alarms.sustainedAlarmsOnHealthySoundMachinesPerDeviceDay.map(JSONValue.number) ?? .null,
            "sustained_false_alarms_per_device_day": .number(alarms.sustainedFalseAlarmsPerDeviceDay),
            "fault_mode_right_at_alarm": alarms.modeRightAtAlarm.map(JSONValue.number) ?? .null,
            "fault_mode_named_during_alarm": alarms.modeNamedShare.map(JSONValue.number) ?? .null,
            "fault_mode_median_hours_after_alarm": alarms.medianModeHours.map(JSONValue.number) ?? .null,
            "by_mode": byMode(alarms),
        ]
    }

    /// `scored` as CSV with a header line: device, window end (Unix seconds), label (1 failing
    /// within the horizon), probability of failing, the classifier's alarm (1 on), the anomaly
    /// score's level and alarm (empty for a bundle without one), the fault mode named and the hours
    /// to the next confirmed fault.
    public var scoredCSV: String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacing("\"", with: "\"\"") + "\"" : text
        }
        var lines = ["device,window_end,label,failing,alarm,anomaly,anomaly_alarm,mode,hours_to_fault"]
        for row in scored {
            let window = row.window
            lines.append([field(window.device), TrainingReport.rounded(window.end), String(window.label), TrainingReport.rounded(row.failing),
                          window.alarm ? "1" : "0", row.anomaly.map(TrainingReport.rounded) ?? "", row.anomalyAlarm.map { $0 ? "1" : "0" } ?? "", field(window.mode ?? ""),
                          row.hoursToFault.map(TrainingReport.rounded) ?? ""].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The figures int8 is held to against float: shares and rates, each in its own unit.
    public static let comparedFigures = [
        "accuracy", "macro_f1", "roc_auc", "precision_failing", "recall_failing", "false_alarm_windows_per_device_day",
        "sustained_false_alarms_per_device_day", "sustained_alarms_on_healthy_machines_per_device_day",
        "sustained_alarms_on_healthy_machines_with_sound_sensors_per_device_day", "share_alarmed_before",
        "median_lead_share_of_degradation", "fault_mode_right_at_alarm", "fault_mode_named_during_alarm",
    ]

    /// Per figure of `comparedFigures` both have, how far this evaluation is from `other`.
    public func differences(from other: ModelEvaluation) -> [(figure: String, difference: Double)] {
        let mine = json, theirs = other.json
        return Self.comparedFigures.compactMap { figure in
            guard case .number(let a)? = mine[figure], case .number(let b)? = theirs[figure] else { return nil }
            return (figure, abs(a - b))
        }
    }

    /// Per fault mode, failures and those alarmed before.
    private static func byMode(_ alarms: AlarmEvaluation) -> JSONValue {
        .object(alarms.byMode.sorted { $0.key < $1.key }.map { mode, counts in
            (mode, ["failures": .number(Double(counts.failures)), "alarmed_before": .number(Double(counts.caught))])
        })
    }

    /// How the alarm named the fault modes, for `text`; empty for a model that names none.
    private static func modePhrase(_ alarms: AlarmEvaluation) -> String {
        guard let right = alarms.modeRightAtAlarm, let hours = alarms.medianModeHours else { return "" }
        func r(_ value: Double) -> String { TrainingReport.rounded(value) }
        return "; fault mode right at the alarm \(r(right)) (named for \(alarms.modesNamed) of \(alarms.modesKnown) known, "
            + "a median \(r(hours)) h after the alarm began)"
    }

    /// A few lines for a person.
    public var text: String {
        let failing = metrics.precision.count - 1
        func r(_ value: Double) -> String { TrainingReport.rounded(value) }
        var lines = [
            "\(model) \(version) (\(arithmetic)) on \(metrics.examples) labelled windows of \(devices) \(deviceType) devices, \(r(alarms.deviceDays)) device-days; "
                + "alarm at \(r(alarmPolicy.threshold)) on \(alarmPolicy.consecutive) windows in a row",
            "macro-F1 \(r(metrics.macroF1)), ROC-AUC \(metrics.rocAUC.map(r) ?? "n/a"), accuracy \(r(metrics.accuracy)), "
                + "failing: precision \(r(metrics.precision[failing])), recall \(r(metrics.recall[failing]))",
            "false alarms per device-day: \(r(alarms.falseAlarmWindowsPerDeviceDay)) windows, "
                + "\(r(alarms.sustainedFalseAlarmsPerDeviceDay)) sustained (3 failing windows in a row from a healthy one)",
        ]
        if let healthy = alarms.sustainedAlarmsOnHealthyMachinesPerDeviceDay {
            lines.append("sustained alarms on truly healthy machines (before the damage onset): \(r(healthy)) per device-day"
                         + (alarms.sustainedAlarmsOnHealthySoundMachinesPerDeviceDay.map { ", \(r($0)) on those with sound sensors" } ?? ""))
        }
        if alarms.failures > 0 {
            var line = "failures: \(alarms.caught) of \(alarms.failures) alarmed before they happened"
            if let lead = alarms.medianLeadHours { line += ", median lead \(r(lead)) h" }
            if let share = alarms.medianLeadShare { line += " (\(r(share)) of the degradation)" }
            line += Self.modePhrase(alarms)
            lines.append(line)
        }
        for (name, other) in [("anomaly score", anomalyAlarms), ("either alarm", eitherAlarm)] {
            guard let other else { continue }
            var line = "\(name): \(other.caught) of \(other.failures) failures alarmed before"
            if let lead = other.medianLeadHours { line += ", median lead \(r(lead)) h" }
            if let share = other.medianLeadShare { line += " (\(r(share)) of the degradation)" }
            if let healthy = other.sustainedAlarmsOnHealthyMachinesPerDeviceDay { line += "; \(r(healthy)) sustained alarms per healthy device-day" }
            if let sound = other.sustainedAlarmsOnHealthySoundMachinesPerDeviceDay { line += " (\(r(sound)) with sound sensors)" }
            line += Self.modePhrase(other)
            line += "; by mode: " + other.byMode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.caught) of \($0.value.failures)" }
                .joined(separator: ", ")
            lines.append(line)
        }
        if stuckWindows > 0 {
            lines.append("windows with a stuck sensor (one value throughout): \(stuckWindows), "
                         + (stuckWindowsNotScored > 0 ? "not scored (the model cannot do without the sensor)" : "scored with its inputs at healthy"))
        }
        if !driftingSensors.isEmpty {
            lines.append("sensors found drifting (scored with their inputs at healthy): "
                         + driftingSensors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.joined(separator: "+"))" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}

/// Why a model could not be evaluated on the data given.
public struct EvaluationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
