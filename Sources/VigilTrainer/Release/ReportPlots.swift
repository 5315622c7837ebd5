import VigilFleet

/// The plots of a training report as small standalone SVG files: the ROC curve of failing on the
/// hold-out, the confusion matrix, the training and validation loss per epoch, and the input
/// drift of the model it replaces.
public enum ReportPlots {
    static let size = 320.0, margin = 40.0

    /// A line chart of `series` (name, colour, points in [0, 1] x [0, 1] after scaling).
    static func lineChart(title: String, xLabel: String, yLabel: String, series: [(name: String, colour: String, points: [(Double, Double)])],
                          diagonal: Bool = false) -> String {
        let plot = size - 2 * margin
        func x(_ value: Double) -> Double { margin + value * plot }
        func y(_ value: Double) -> Double { size - margin - value * plot }
        var svg = ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(size))" height="\##(Int(size))" font-family="sans-serif" font-size="11">"##
        svg += ##"<rect width="100%" height="100%" fill="white"/>"##
        svg += ##"<text x="\##(size / 2)" y="18" text-anchor="middle" font-size="13">\##(title)</text>"##
        svg += ##"<rect x="\##(margin)" y="\##(margin)" width="\##(plot)" height="\##(plot)" fill="none" stroke="#999"/>"##
        svg += ##"<text x="\##(size / 2)" y="\##(size - 8)" text-anchor="middle">\##(xLabel)</text>"##
        svg += ##"<text x="12" y="\##(size / 2)" text-anchor="middle" transform="rotate(-90 12 \##(size / 2))">\##(yLabel)</text>"##
        if diagonal {
            svg += ##"<line x1="\##(x(0))" y1="\##(y(0))" x2="\##(x(1))" y2="\##(y(1))" stroke="#ccc" stroke-dasharray="4"/>"##
        }
        for (index, line) in series.enumerated() {
            let points = line.points.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ")
            svg += ##"<polyline points="\##(points)" fill="none" stroke="\##(line.colour)" stroke-width="2"/>"##
            svg += ##"<text x="\##(margin + 6)" y="\##(margin + 14 + 14 * Double(index))" fill="\##(line.colour)">\##(line.name)</text>"##
        }
        return svg + "</svg>\n"
    }

    /// The ROC curve, with its AUC in the title.
    public static func roc(_ evaluation: Evaluation) -> String {
        lineChart(title: "ROC of failing, AUC \(evaluation.rocAUC.map { String(($0 * 1000).rounded() / 1000) } ?? "n/a")",
                  xLabel: "false positive rate", yLabel: "true positive rate",
                  series: [("hold-out", "#c0392b", evaluation.rocCurve.map { ($0.falsePositiveRate, $0.truePositiveRate) })],
                  diagonal: true)
    }

    /// Training and validation loss per epoch, scaled to the largest loss.
    public static func loss(_ epochs: [Classifier.Epoch]) -> String {
        let top = max(epochs.map { max($0.trainingLoss, $0.validationLoss) }.max() ?? 1, 1e-9)
        let last = Double(max(epochs.count - 1, 1))
        func points(_ value: (Classifier.Epoch) -> Double) -> [(Double, Double)] {
            epochs.enumerated().map { (Double($0.offset) / last, value($0.element) / top) }
        }
        return lineChart(title: "loss per epoch (max \(String((top * 1000).rounded() / 1000)))", xLabel: "epoch", yLabel: "loss",
                         series: [("training", "#2c3e50", points(\.trainingLoss)), ("validation", "#e67e22", points(\.validationLoss))])
    }

    /// Each input's PSI at every agent that reported on the model (`DriftReport`): one bar per
    /// input and agent, the threshold that triggers a retraining as a dashed line.
    public static func drift(_ reports: [DriftReport], threshold: Double?) -> String {
        let inputs = reports.first?.psi.map(\.input) ?? []
        let colours = ["#2c3e50", "#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#16a085"]
        let left = 210.0, width = 560.0, bar = 7.0
        let row = bar * Double(max(reports.count, 1)) + 4
        let height = margin * 2 + row * Double(inputs.count) + 14 * Double(reports.count)
        let top = max(reports.map(\.maxPSI).max() ?? 0, threshold ?? 0, 0.1) * 1.05
        func x(_ psi: Double) -> Double { left + min(psi, top) / top * (width - left - 20) }
        var svg = ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(width))" height="\##(Int(height))" font-family="sans-serif" font-size="10">"##
        svg += ##"<rect width="100%" height="100%" fill="white"/>"##
        svg += ##"<text x="\##(width / 2)" y="18" text-anchor="middle" font-size="13">input drift (PSI against the training data)</text>"##
        for (index, input) in inputs.enumerated() {
            let y = margin + row * Double(index)
            svg += ##"<text x="\##(left - 6)" y="\##(y + row / 2 + 3)" text-anchor="end">\##(input)</text>"##
            for (offset, report) in reports.enumerated() where index < report.psi.count {
                svg += ##"<rect x="\##(left)" y="\##(y + bar * Double(offset))" width="\##(x(report.psi[index].value) - left)" height="\##(bar - 1)" fill="\##(colours[offset % colours.count])"/>"##
            }
        }
        let bottom = margin + row * Double(inputs.count)
        svg += ##"<line x1="\##(left)" y1="\##(margin)" x2="\##(left)" y2="\##(bottom)" stroke="#999"/>"##
        if let threshold {
            svg += ##"<line x1="\##(x(threshold))" y1="\##(margin)" x2="\##(x(threshold))" y2="\##(bottom)" stroke="#c0392b" stroke-dasharray="4"/>"##
            svg += ##"<text x="\##(x(threshold) + 3)" y="\##(margin - 4)">retrain at \##(TrainingReport.rounded(threshold))</text>"##
        }
        for (offset, report) in reports.enumerated() {
            svg += ##"<text x="\##(left)" y="\##(bottom + 14 * Double(offset + 1))" fill="\##(colours[offset % colours.count])">\##(report.agent): \##(report.version), \##(report.windows) windows</text>"##
        }
        return svg + "</svg>\n"
    }

    /// The confusion matrix as shaded cells with counts.
    public static func confusion(_ evaluation: Evaluation, classes: [String]) -> String {
        let left = 70.0
        let cell = (size - left - margin) / Double(max(classes.count, 1))
        let top = Double(evaluation.confusion.flatMap { $0 }.max() ?? 1)
        var svg = ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(size))" height="\##(Int(size))" font-family="sans-serif" font-size="12">"##
        svg += ##"<rect width="100%" height="100%" fill="white"/>"##
        svg += ##"<text x="\##(size / 2)" y="18" text-anchor="middle" font-size="13">confusion (rows: truth, columns: predicted)</text>"##
        for (row, counts) in evaluation.confusion.enumerated() {
            for (column, count) in counts.enumerated() {
                let shade = Int(255 - 200 * Double(count) / max(top, 1))
                let x = left + Double(column) * cell, y = margin + Double(row) * cell
                svg += ##"<rect x="\##(x)" y="\##(y)" width="\##(cell)" height="\##(cell)" fill="rgb(\##(shade),\##(shade),255)" stroke="white"/>"##
                svg += ##"<text x="\##(x + cell / 2)" y="\##(y + cell / 2)" text-anchor="middle">\##(count)</text>"##
            }
            svg += ##"<text x="\##(left - 6)" y="\##(margin + (Double(row) + 0.5) * cell)" text-anchor="end">\##(classes[row])</text>"##
            svg += ##"<text x="\##(left + (Double(row) + 0.5) * cell)" y="\##(size - margin + 14)" text-anchor="middle">\##(classes[row])</text>"##
        }
        return svg + "</svg>\n"
    }
}
