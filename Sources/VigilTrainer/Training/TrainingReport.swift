import VigilCore
import VigilFleet
import VigilInference

/// The Markdown report of a training run: hold-out metrics of the int8 model with its float
/// original beside them, the champion gate, the int8 confusion matrix with precision and recall,
/// links to the SVG plots and the loss per epoch.
public enum TrainingReport {
    /// The Markdown report; `plots` is the file name the SVG plots beside it start with; `drift`
    /// the agents' latest drift reports on the model it replaces.
    public static func markdown(_ result: TrainingRun.Result, plots: String? = nil, drift: [DriftReport] = [],
                                driftThreshold: Double? = nil) -> String {
        let evaluation = result.holdout, float = result.floatHoldout
        var dropout = ""
        if case .number(let rate)? = result.manifest.lineage["sensor_dropout"], rate > 0 {
            dropout = " \(Int((100 * rate).rounded()))% of the training windows, drawn afresh each epoch, were shown with one sensor's inputs at healthy (sensor dropout)."
        }
        var lines = ["# \(result.manifest.name) \(result.manifest.version)", "",
                     "Windows: \(result.counts.train) training, \(result.counts.validation) validation, \(result.counts.holdout) hold-out "
                         + "(per device, by time). Epochs: \(result.epochs.count). int8 with \(result.manifest.rounding.rawValue) rounding, "
                         + "as agents run it; its float original beside it."
                         + (result.manifest.members > 1 ? " The model is the mean of \(result.manifest.members) networks trained from different seeds." : "")
                         + dropout
                         + (result.manifest.lineage["refit"] == .bool(true) ? " The networks shipped were trained again on every labelled window for the epochs validation chose; the figures below are of the same recipe trained on each device's past." : ""), "",
                     "| hold-out | int8 | float |", "| --- | --- | --- |",
                     "| accuracy | \(rounded(evaluation.accuracy)) | \(rounded(float.accuracy)) |",
                     "| macro-F1 | \(rounded(evaluation.macroF1)) | \(rounded(float.macroF1)) |",
                     "| ROC-AUC (failing) | \(evaluation.rocAUC.map(rounded) ?? "n/a") | \(float.rocAUC.map(rounded) ?? "n/a") |",
                     "| int8 and float predict the same class | \(rounded(result.int8Agreement)) | |",
                     "| fault mode right on failing windows | \(result.faultModeAccuracy.map { "\(rounded($0))\(result.manifest.diagnosis != nil ? " (by the fault diagnosis)" : "")" } ?? "n/a (no fault-mode classes or diagnosis)") | |",
                     "| alarm policy (chosen on validation) | trouble at \(rounded(result.manifest.alarm.threshold)) on "
                         + "\(result.manifest.alarm.consecutive) windows in a row | |"]
        if let anomaly = result.manifest.anomaly {
            lines.append("| anomaly score (fitted on known-healthy windows) | level at \(rounded(anomaly.alarm.threshold)) on "
                         + "\(anomaly.alarm.consecutive) windows in a row | |")
        }
        if let validation = result.clockValidation {
            let inputs = result.manifest.inputs, clock = validation.clock
            func name(_ index: Int) -> String { "\(inputs[index].sensor).\(inputs[index].feature)" }
            let measure = "size \(name(clock.size)), rate the fastest risen of \(clock.rates.map(name).joined(separator: ", ")) "
                + "over \(rounded(clock.seconds / 3600)) h; validation macro-F1 \(rounded(validation.macroF1)) against the networks' "
                + rounded(validation.networks)
            lines.append(result.manifest.clock != nil
                         ? "| degradation clock (in the networks' place where it measures) | \(measure) | |"
                         : "| degradation clock | none kept: the best, \(measure), is less than \(rounded(DegradationClock.margin)) above | |")
        }
        if let check = result.manifest.sensorDrift {
            lines.append("| sensors judged for drift (moving alone, as wear rarely moves them) | \(check.sensors.joined(separator: ", ")) | |")
        }
        if let choice = result.diagnosisValidation {
            let figures = "validation's failing windows named right \(rounded(choice.named)) (always the commonest mode "
                + "\(rounded(choice.commonest))\(choice.network.map { "; the networks' classes \(rounded($0))" } ?? ""))"
            let shipped = result.manifest.diagnosis?.modes ?? choice.diagnosis.modes
            let modes = shipped.joined(separator: ", ")
                + (shipped == choice.diagnosis.modes ? "" : " (the training split's: \(choice.diagnosis.modes.joined(separator: ", ")))")
            lines.append(choice.kept
                         ? "| fault diagnosis (names the mode at an alarm) | \(modes): \(figures) | |"
                         : "| fault diagnosis | none kept: \(figures) | |")
        }
        if result.modeClassesLeftToDiagnosis {
            lines.append("| fault-mode classes | left out: the diagnosis named validation's modes at least as well | |")
        }
        if let context = result.manifest.context {
            lines.append("| inputs | each also relative to the device's first \(rounded(context.baselineSeconds / 3600)) h and its trend "
                         + "(\(rounded(context.trendSeconds / 3600)) h\(context.paced ? "; the network's \(rounded(context.networkTrendSeconds / 3600)) h" : ""))"
                         + "\(context.growth ? ", and its growth" : "")\(context.level ? " and level" : "")\(context.absolute ? "" : "; not its absolute value") | |")
        }
        if let gate = result.gate {
            lines.append("| champion's int8 macro-F1 on \(gate.windows) hold-out windows | \(rounded(gate.champion)) (challenger \(rounded(gate.challenger)): \(gate.passed ? "released" : "refused")) | |")
        }
        lines += ["",
                     "| truth \\ predicted | " + LabelRule.classes.joined(separator: " | ") + " | precision | recall |",
                     "| --- |" + String(repeating: " --- |", count: LabelRule.classes.count + 2)]
        for (index, name) in LabelRule.classes.enumerated() {
            lines.append("| \(name) | " + evaluation.confusion[index].map(String.init).joined(separator: " | ")
                         + " | \(rounded(evaluation.precision[index])) | \(rounded(evaluation.recall[index])) |")
        }
        if let plots {
            lines += ["", "![ROC](\(plots).roc.svg) ![confusion](\(plots).confusion.svg) ![loss](\(plots).loss.svg)"]
        }
        if !drift.isEmpty {
            lines += ["", "Input drift of the model this one replaces, at each agent (PSI of its recent inputs against its training data"
                          + "\(driftThreshold.map { "; a retraining at \(rounded($0))" } ?? "")):", "",
                      "| agent | version | windows | largest drift | PSI |", "| --- | --- | --- | --- | --- |"]
            for report in drift {
                let largest = report.psi.max { $0.value < $1.value }
                lines.append("| \(report.agent) | \(report.version) | \(report.windows) | \(largest?.input ?? "-") | \(rounded(report.maxPSI)) |")
            }
            if let plots { lines += ["", "![drift](\(plots).drift.svg)"] }
        }
        if result.candidates.count > 1 {
            // The network's clock, where the search tried more than one.
            let clocked = Set(result.candidates.map(\.networkTrendSeconds)).count > 1
            lines += ["", "Search on the validation split (kept, first: the fewest parameters no further above the lowest loss than one standard "
                          + "error of the difference, window by window, each device's windows one draw\(clocked ? ", at the lowest loss's network clock" : ""):", "",
                      "| hidden layers | learning rate |\(clocked ? " network clock, h |" : "") parameters | validation loss | above the lowest | standard error | epochs |",
                      "| --- | --- |\(clocked ? " --- |" : "") --- | --- | --- | --- | --- |"]
            lines += result.candidates.map { candidate in
                "| \(candidate.hidden.isEmpty ? "none (logistic regression)" : candidate.hidden.map(String.init).joined(separator: ", ")) | "
                    + "\(candidate.learningRate) | \(clocked ? "\(rounded((candidate.networkTrendSeconds ?? 0) / 3600)) | " : "")"
                    + "\(candidate.parameters) | \(rounded(candidate.validationLoss)) | "
                    + "\(rounded(candidate.aboveLowest)) | \(rounded(candidate.aboveLowestError)) | \(candidate.epochs) |"
            }
        }
        lines += ["", "Loss per epoch of the model kept (training, validation)\(result.manifest.members > 1 ? ", the first of its members" : ""):", ""]
        lines += result.epochs.map { "- \($0.number): \(rounded($0.trainingLoss)), \(rounded($0.validationLoss))" }
        return lines.joined(separator: "\n")
    }

    /// Writes the report to `prefix.md` with its plots beside it (`prefix.roc.svg`, ...;
    /// `prefix.drift.svg` with drift reports), each file replaced atomically.
    public static func write(_ result: TrainingRun.Result, to prefix: String, drift: [DriftReport] = [],
                             driftThreshold: Double? = nil) throws(FileError) {
        let name = String(prefix.split(separator: "/").last ?? Substring(prefix))
        let report = markdown(result, plots: name, drift: drift, driftThreshold: driftThreshold)
        try FileSystem.writeAtomically(Array(report.utf8), to: prefix + ".md")
        try FileSystem.writeAtomically(Array(ReportPlots.roc(result.holdout).utf8), to: prefix + ".roc.svg")
        try FileSystem.writeAtomically(Array(ReportPlots.confusion(result.holdout, classes: LabelRule.classes).utf8), to: prefix + ".confusion.svg")
        try FileSystem.writeAtomically(Array(ReportPlots.loss(result.epochs).utf8), to: prefix + ".loss.svg")
        if !drift.isEmpty {
            try FileSystem.writeAtomically(Array(ReportPlots.drift(drift, threshold: driftThreshold).utf8), to: prefix + ".drift.svg")
        }
    }

    /// Three decimals.
    static func rounded(_ value: Double) -> String { String((value * 1000).rounded() / 1000) }
}
