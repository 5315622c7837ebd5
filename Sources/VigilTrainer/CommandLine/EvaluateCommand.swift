import ArgumentParser
import VigilCore
import VigilInference

/// `vigil-trainer evaluate`: scores a bundle on an agent's database or the trainer's store in int8,
/// as the agent does, and prints what it would have meant to a maintenance team.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model on every labelled window of an agent's database or the trainer's store, in int8 as agents run it.",
        discussion: """
            Prints accuracy, macro-F1, ROC-AUC, precision and recall of failing, false alarms per device-day, \
            and for each confirmed fault whether a sustained alarm (3 failing windows in a row) came before it and how long \
            before; with a simulator's --ground-truth, that lead as a share of the degradation. Evaluate on fleets the model \
            never saw (other seeds, other sizes, faulty sensors).
            """)

    @Option(help: "The model bundle (.vgm).")
    var model: String
    @Option(help: "An agent database, or the trainer's store (then each site, its agent, on its own too).")
    var agentDb: String
    @Option(help: "The folder of device profiles.")
    var devices: String
    @Option(help: "Hours before a fault within which a window counts as failing.")
    var horizonHours = 48.0
    @Option(help: "A simulator's ground truth (vigil-sim --ground-truth) for lead as a share of the degradation.")
    var groundTruth: String?
    @Option(help: "Write the figures as JSON to this file too.")
    var json: String?
    @Option(help: "The bundle's float originals (train writes FILE.vgm.float.json): the same figures in float, and how far int8 is from them, and from them kept within int8's calibrated ranges (rounding alone).")
    var float: String?
    @Option(help: "Write every scored window as CSV to this file: device, window end, label, probability of failing, alarms, fault mode named, hours to the next fault.")
    var windows: String?

    func run() throws {
        let bytes = try FileSystem.read(model)
        // Evaluation needs an intact bundle, not a trusted one: its own signer verifies it.
        let signer = try ModelBundle.inspect(bytes: bytes).signer
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [signer])
        let profiles = try DeviceProfile.loadAll(folder: devices)
        guard let profile = profiles.first(where: { bundle.manifest.deviceTypes.contains($0.type) }) else {
            throw ValidationError("no profile in \(devices) for \(bundle.manifest.deviceTypes.joined(separator: ", "))")
        }
        let dataset = try openDatasetSource(agentDb).dataset(profile: profile, rule: LabelRule(horizon: horizonHours * 3600),
                                                                context: bundle.manifest.context)
        let truth = try groundTruth.map(Self.groundTruth(file:))
        let lives = truth?.lives ?? [:], faultySensors = truth?.faultySensors ?? []
        let evaluation = try ModelEvaluation(bundle: bundle, dataset: dataset, lives: lives, faultySensors: faultySensors)
        print(evaluation.text)
        if let windows {
            try FileSystem.writeAtomically(Array(evaluation.scoredCSV.utf8), to: windows)
        }
        var figures = evaluation.json
        if let float {
            let originals = try FloatNetwork.load(file: float)
            let original = try ModelEvaluation(bundle: bundle, dataset: dataset, lives: lives, faultySensors: faultySensors, float: originals)
            // The same networks kept within int8's calibrated ranges: what rounding alone changes.
            let bounded = try ModelEvaluation(bundle: bundle, dataset: dataset, lives: lives, faultySensors: faultySensors,
                                              float: zip(originals, bundle.networks).map { $0.within($1) })
            let differences = evaluation.differences(from: original), rounding = evaluation.differences(from: bounded)
            func largest(_ differences: [(figure: String, difference: Double)]) -> String {
                differences.max { $0.difference < $1.difference }.map { "\(TrainingReport.rounded($0.difference)) (\($0.figure))" } ?? "n/a"
            }
            print(original.text)
            print("int8 against float: largest difference \(largest(differences)); "
                  + "against float within int8's ranges (rounding alone): \(largest(rounding))")
            if case .object(var fields) = figures {
                fields.append(("float", original.json))
                fields.append(("int8_float_differences", .object(differences.map { ($0.figure, .number($0.difference)) })))
                fields.append(("float_within_int8_ranges", bounded.json))
                fields.append(("int8_rounding_differences", .object(rounding.map { ($0.figure, .number($0.difference)) })))
                figures = .object(fields)
            }
        }
        // On the trainer's store, each site (agent) on its own too.
        var sites: [(key: String, value: JSONValue)] = []
        for agent in dataset.agents {
            let site = dataset.subset { $0.hasPrefix(agent + "/") }
            guard !site.examples.isEmpty else { continue }
            let evaluation = try ModelEvaluation(bundle: bundle, dataset: site, lives: lives, faultySensors: faultySensors)
            print("site \(agent): " + evaluation.text.split(separator: "\n").dropFirst().joined(separator: "; "))
            sites.append((agent, evaluation.json))
        }
        if !sites.isEmpty, case .object(var fields) = figures {
            fields.append(("by_agent", .object(sites)))
            figures = .object(fields)
        }
        if let json {
            try FileSystem.writeAtomically(Array((figures.serialized() + "\n").utf8), to: json)
        }
    }

    /// Each device's lives (onset, failure) from `vigil-sim --ground-truth`, and the devices
    /// whose sensors it made faulty.
    static func groundTruth(file: String) throws -> (lives: [String: [(onset: Double, failure: Double)]], faultySensors: Set<String>) {
        let root = try JSONObjectReader(file: file)
        var lives: [String: [(onset: Double, failure: Double)]] = [:]
        var faulty: Set<String> = []
        for device in try root.objects("devices") {
            let name = try device.string("device")
            for life in try device.objects("lives") {
                lives[name, default: []].append((try life.double("onset"), try life.double("failure")))
            }
            if try device.optionalString("sensor_fault") != nil { faulty.insert(name) }
        }
        return (lives, faulty)
    }
}
