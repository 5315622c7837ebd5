import FirmwareSim
import Testing
import VigilAgent
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilObservability
import VigilStore
import VigilTestSupport
import VigilTrainer
#if canImport(Glibc)
import Glibc
#endif

@Suite("Trainer")
struct TrainerTests {
    @Test func labelsFollowMaintenanceEventsOnAHandMadeTimeline() {
        let rule = LabelRule(horizon: 48 * 3600)
        let hour = 3600.0
        let faults = [100 * hour, 400 * hour]
        #expect(rule.label(windowEnd: 10 * hour, faults: faults, dataEnd: 500 * hour) == 0)     // 90 h before: healthy
        #expect(rule.label(windowEnd: 60 * hour, faults: faults, dataEnd: 500 * hour) == 1)     // 40 h before: failing
        #expect(rule.label(windowEnd: 100 * hour, faults: faults, dataEnd: 500 * hour) == 1)    // at the failure
        #expect(rule.label(windowEnd: 200 * hour, faults: faults, dataEnd: 500 * hour) == 0)    // after repair, long before the next
        #expect(rule.label(windowEnd: 420 * hour, faults: faults, dataEnd: 500 * hour) == 0)    // 80 h of known healthy future
        #expect(rule.label(windowEnd: 470 * hour, faults: faults, dataEnd: 500 * hour) == nil)  // outcome unknown: left out
        // With an early horizon of two weeks, healthy windows within it before a fault are soon.
        let early = LabelRule(horizon: 48 * hour, earlyHorizon: 336 * hour)
        #expect(early.isSoon(windowEnd: 10 * hour, faults: faults))           // 90 h before
        #expect(!early.isSoon(windowEnd: 60 * hour, faults: faults))          // failing, not soon
        #expect(!early.isSoon(windowEnd: 420 * hour, faults: faults))         // no fault ahead
        #expect(!rule.isSoon(windowEnd: 10 * hour, faults: faults))           // no early horizon
        #expect(!early.isSoon(windowEnd: 100 * hour - 337 * hour, faults: faults)) // before it
    }

    /// A trainer store's devices are `agent/device`: each site's windows, faults and spans apart.
    @Test func aStoreSplitsBySite() {
        func example(_ device: String) -> Dataset.Example { .init(device: device, windowEnd: 1, features: [0], label: 0) }
        let dataset = Dataset(featureNames: ["x"], examples: ["a/m1", "a/m2", "b/m1"].map(example),
                              faults: ["a/m1": [.init(time: 5)], "b/m1": [.init(time: 6)]],
                              spans: ["a/m1": (0, 10), "a/m2": (0, 10), "b/m1": (0, 10)])
        #expect(dataset.agents == ["a", "b"])
        let site = dataset.subset { $0.hasPrefix("b/") }
        #expect(site.examples.map(\.device) == ["b/m1"] && Array(site.faults.keys) == ["b/m1"] && Array(site.spans.keys) == ["b/m1"])
        #expect(Dataset(featureNames: ["x"], examples: [example("m1")], spans: ["m1": (0, 10)]).agents.isEmpty)
    }

    /// The probability of trouble is the failing classes' whatever else the model says: "soon"
    /// and healthy count against it; a model without failing classes keeps 1 minus the first.
    @Test func troubleIsTheFailingClasses() {
        #expect(ModelManifest.trouble([0.5, 0.3, 0.2], classes: ["healthy", "soon", "failing"]) == 0.2)
        #expect(ModelManifest.trouble([0.4, 0.1, 0.3, 0.2], classes: ["healthy", "soon", "failing:ball", "failing:outer_race"]) == 0.5)
        #expect(ModelManifest.trouble([0.7, 0.3], classes: ["healthy", "hot"]) == 1 - 0.7)
        #expect(ModelManifest.trouble([0.9], classes: ["score"]) == 0.9)
    }

    /// The fault mode named with an alarm is the most likely failing class's, even when
    /// healthy or soon is more likely still; a model without mode classes names none.
    @Test func theFaultModeIsTheMostLikelyFailingClass() {
        let classes = ["healthy", "soon", "failing:ball", "failing:outer_race"]
        #expect(ModelManifest.faultMode([0.6, 0.1, 0.1, 0.2], classes: classes) == "outer_race")
        #expect(ModelManifest.faultMode([0.1, 0.1, 0.5, 0.3], classes: classes) == "ball")
        #expect(ModelManifest.faultMode([0.5, 0.3, 0.2], classes: ["healthy", "soon", "failing"]) == nil)
        #expect(ModelManifest.faultMode([0.7, 0.3], classes: ["healthy", "hot"]) == nil)
    }

    /// Two Gaussian clusters in 6 inputs, the second (a fifth of the samples) shifted by 2.5 in
    /// the first 3 and not in the rest: training, validation and hold-out sets drawn from `seed`.
    static func clusters(seed: UInt64) -> (train: [(x: [Double], y: Int)], validation: [(x: [Double], y: Int)],
                                           holdout: [(x: [Double], y: Int)]) {
        var random = SeededRandom(seed: seed)
        func sample(_ label: Int) -> (x: [Double], y: Int) {
            ((0..<6).map { index in random.gaussian() + (label == 1 && index < 3 ? 2.5 : 0) }, label)
        }
        let train = (0..<600).map { sample($0 % 5 == 0 ? 1 : 0) }
        let validation = (0..<200).map { sample($0 % 5 == 0 ? 1 : 0) }
        return (train, validation, (0..<400).map { sample($0 % 5 == 0 ? 1 : 0) })
    }

    /// Two Gaussian clusters: the MLP and the logistic regression both separate them, the int8
    /// version agrees with the float one, and the same seed gives the same model.
    @Test(arguments: [[16], []])
    func learnsASeparableSetAndQuantizesFaithfully(hidden: [Int]) {
        let (train, validation, holdout) = Self.clusters(seed: 3)
        var classifier = Classifier(inputs: 6, hidden: hidden, classes: 2, seed: 7)
        classifier.train(train, validation: validation, seed: 7)
        var again = Classifier(inputs: 6, hidden: hidden, classes: 2, seed: 7)
        again.train(train, validation: validation, seed: 7)
        #expect(classifier.layers.map(\.weights) == again.layers.map(\.weights), "deterministic for a seed")

        let network = QuantizedNetwork(layers: PostTrainingQuantizer.quantize(classifier, calibration: train.map(\.x)))
        var output: [Double] = []
        let int8 = holdout.map { example -> [Double] in
            example.x.withUnsafeBufferPointer { network.predict($0, into: &output) }
            return output
        }
        let float = holdout.map { classifier.probabilities($0.x) }
        let evaluation = Evaluation(truth: holdout.map(\.y), probabilities: float, classes: 2)
        #expect(evaluation.accuracy >= 0.95, "accuracy \(evaluation.accuracy)")
        #expect(evaluation.rocAUC ?? 0 >= 0.97, "ROC-AUC \(String(describing: evaluation.rocAUC))")
        let agreement = Evaluation.agreement(int8, float)
        #expect(agreement >= 0.97, "int8 agreement \(agreement)")
    }

    /// A difference in validation loss is measured window by window, with each device's windows
    /// one draw: a validation set of each window four times over, each window's copies one device,
    /// has the error of the windows once; taken as separate draws, the copies would claim half of it.
    @Test func aLossDifferenceCountsADevicesWindowsAsOneDraw() {
        var random = SeededRandom(seed: 11)
        let lowest = (0..<300).map { _ in abs(random.gaussian()) }
        let other = lowest.map { $0 + 0.05 + 0.2 * random.gaussian() }
        let once = TrainingRun.Candidate.difference(other, lowest, devices: Array(lowest.indices))
        let copies = lowest.indices.flatMap { Array(repeating: $0, count: 4) }
        let grouped = TrainingRun.Candidate.difference(copies.map { other[$0] }, copies.map { lowest[$0] }, devices: copies)
        let apart = TrainingRun.Candidate.difference(copies.map { other[$0] }, copies.map { lowest[$0] }, devices: Array(copies.indices))
        #expect(once.mean > 0.02 && once.mean < 0.08 && once.error > 0.005, "\(once)")
        #expect(abs(grouped.mean - once.mean) < 1e-12 && abs(grouped.error - once.error) < 1e-12, "grouped copies \(grouped), once \(once)")
        #expect(abs(apart.error / once.error - 0.5) < 0.01, "copies apart \(apart), once \(once)")
        #expect(TrainingRun.Candidate.difference(lowest, lowest, devices: Array(lowest.indices)) == (0, 0))
    }

    /// The search keeps the smallest candidate no further above the lowest loss than one standard
    /// error of the difference, at the network clock of the lowest loss.
    @Test func theSearchKeepsTheSmallestCandidateWithinOneStandardErrorOfTheBest() {
        func candidate(_ parameters: Int, _ loss: Double, _ error: Double = 0.05, clock: Double = 43_200) -> TrainingRun.Candidate {
            TrainingRun.Candidate(hidden: [], learningRate: 0.005, networkTrendSeconds: clock, parameters: parameters, validationLoss: loss,
                                  aboveLowest: loss - 0.40, aboveLowestError: error, epochs: 20)
        }
        let candidates = [candidate(1000, 0.40, 0), candidate(100, 0.46), candidate(100, 0.44), candidate(10, 0.451), candidate(500, .nan)]
        #expect(TrainingRun.Candidate.chosen(candidates) == 2)
        // With narrower errors the lowest loss alone is within them.
        #expect(TrainingRun.Candidate.chosen(candidates.map { var c = $0; c.aboveLowestError = 0.001; return c }) == 0)
        #expect(TrainingRun.Candidate.chosen([candidate(10, .infinity)]) == nil)
        // A smaller candidate as close at another clock is not kept: the lowest loss chose the clock.
        #expect(TrainingRun.Candidate.chosen(candidates + [candidate(5, 0.43, clock: 86_400)]) == 2)
        #expect(TrainingRun.Candidate.chosen(candidates + [candidate(5, 0.39, 0, clock: 86_400)]) == 5)
    }

    /// Weight decay shrinks the weights (most those of the inputs that carry nothing) and the
    /// classifier still separates the set: what it keeps is what the classes share.
    @Test func weightDecayShrinksTheWeightsAndKeepsTheSignal() {
        let (train, validation, holdout) = Self.clusters(seed: 5)
        func trained(decay: Double) -> Classifier {
            var classifier = Classifier(inputs: 6, hidden: [16], classes: 2, seed: 7)
            classifier.train(train, validation: validation, weightDecay: decay, seed: 7)
            return classifier
        }
        let plain = trained(decay: 0), decayed = trained(decay: 1)
        /// The sum of squares of the first layer's weights on inputs `columns`.
        func size(_ classifier: Classifier, _ columns: Range<Int>) -> Double {
            classifier.layers[0].weights.enumerated().filter { columns.contains($0.offset % 6) }.reduce(0) { $0 + $1.element * $1.element }
        }
        #expect(size(decayed, 3..<6) < 0.1 * size(plain, 3..<6), "noise inputs' weights \(size(decayed, 3..<6)) against \(size(plain, 3..<6))")
        let evaluation = Evaluation(truth: holdout.map(\.y), probabilities: holdout.map { decayed.probabilities($0.x) }, classes: 2)
        #expect(evaluation.accuracy >= 0.95, "accuracy \(evaluation.accuracy)")
    }

    /// A sensor's inputs put at healthy, as the agent puts a stuck one's (raw at the training
    /// mean, relative and trend at the anomaly score's centers, growth and level at 0, all standardised),
    /// blind a network that leaned on that sensor: trained with sensor dropout, it calls trouble
    /// from the other, weaker sensor too. Sensor a moves its inputs 2 on failing windows, b 1
    /// in noise half as large.
    @Test func sensorDropoutTeachesTheNetworkToCallTroubleWithoutItsBestSensor() throws {
        let anomaly = AnomalyScore(firstInput: 2, centers: [3, 3, 3, 3], scales: [1, 1, 1, 1], alarm: .single)
        func dropout(_ sensors: [String], rate: Double) -> SensorDropout? {
            SensorDropout(inputs: sensors, context: .standard, means: Array(repeating: 1, count: 12), scales: Array(repeating: 2, count: 12),
                          squash: .none, anomaly: anomaly, rate: rate)
        }
        let sensorDropout = try #require(dropout(["a", "b"], rate: 0.5))
        #expect(sensorDropout.sensors == [[0, 2, 4, 6, 8, 10], [1, 3, 5, 7, 9, 11]])
        // The absolute inputs and the trend (the network takes the pace instead) are 0 to it.
        #expect(sensorDropout.healthy == [0, 0, 1, 1, 0, 0] + Array(repeating: -0.5, count: 6))
        #expect(dropout(["a", "a"], rate: 0.3) == nil, "one sensor alone is never put at healthy")
        #expect(dropout(["a", "b"], rate: 0) == nil)
        #expect(SensorDropout(inputs: ["a", "b"], context: .standard, means: Array(repeating: 1, count: 12), scales: Array(repeating: 2, count: 12),
                              squash: .none, anomaly: AnomalyScore(centers: Array(repeating: 3, count: 8), scales: Array(repeating: 1, count: 8), alarm: .single),
                              rate: 0.3) == nil, "a score over the absolute inputs knows no healthy relative value")

        var random = SeededRandom(seed: 5)
        func window(failing: Bool) -> (x: [Double], y: Int) {
            (sensorDropout.healthy.indices.map { index in
                let a = index % 2 == 0
                return sensorDropout.healthy[index] + (failing ? (a ? 2 : 1) : 0) + (a ? 0.3 : 0.5) * random.gaussian()
            }, failing ? 1 : 0)
        }
        let train = (0..<1000).map { window(failing: $0 % 4 == 0) }
        let validation = (0..<300).map { window(failing: $0 % 4 == 0) }
        // Failing windows with a's inputs at healthy: how many each network calls failing.
        let blinded = (0..<200).map { _ in
            var x = window(failing: true).x
            for at in sensorDropout.sensors[0] { x[at] = sensorDropout.healthy[at] }
            return x
        }
        func recall(_ dropout: SensorDropout?) -> Double {
            var classifier = Classifier(inputs: 12, hidden: [8], classes: 2, seed: 7)
            classifier.train(train, validation: validation, dropout: dropout, seed: 7)
            return Double(blinded.filter { classifier.probabilities($0)[1] > 0.5 }.count) / Double(blinded.count)
        }
        let without = recall(nil), with = recall(sensorDropout)
        #expect(without < 0.5 && with > 0.8, "recall with a at healthy: \(without) trained without dropout, \(with) with")
    }

    static let devices = String(#filePath.split(separator: "/Tests/").first!) + "/devices"

    /// A simulated fleet of `count` motors run for 25 days of machine time into a real agent
    /// (on a broker of its own), with only `modes` developing if given; returns the agent's
    /// database, the simulator's report and each device's lives (onset, failure).
    static func simulatedMotors(_ directory: TemporaryDirectory, name: String, seed: UInt64, count: Int = 12, modes: Set<FaultMode> = [])
        throws -> (database: String, report: FleetSimulator.Report, lives: [String: [(onset: Double, failure: Double)]]) {
        let broker = try TestBroker()
        let database = directory.file("\(name).db")
        try writeFile(directory.file("\(name).json"), """
            {"agent_id": "\(name)", "broker": {"url": "\(broker.url)", "clean_session": true},
             "database": "\(database)", "devices": "\(devices)"}
            """)
        let agent = try Agent(configuration: AgentConfiguration.load(file: directory.file("\(name).json")), logger: .silent)
        agent.start()
        defer { agent.stop() }
        guard agent.waitUntilReady(timeout: 10) else { throw TestFailure("agent \(name) did not subscribe") }
        var options = SimulatorOptions()
        options.devices = devices
        options.types = ["induction-motor"]
        options.count = count
        options.seed = seed
        options.duration = 60
        options.speedup = 36_000
        options.asFastAsPossible = true
        options.sensorFaultShare = 0
        options.modes = modes
        let simulator = try FleetSimulator(options: options, profiles: DeviceProfile.loadAll(folder: devices))
        let report = try simulator.run(into: BrokerSink(url: BrokerURL(parsing: broker.url), clientID: "sim-\(name)"))
        guard eventually(timeout: 30, {
            (try? AgentStatus.read(database: database).counters["messages_stored"]) ?? 0 >= Int64(report.messages)
        }) else { throw TestFailure("agent \(name) did not store the fleet's \(report.messages) messages") }
        var lives: [String: [(onset: Double, failure: Double)]] = [:]
        if case .array(let entries)? = simulator.groundTruth()["devices"] {
            for entry in entries {
                guard case .string(let device)? = entry["device"], case .array(let list)? = entry["lives"] else { continue }
                lives[device] = list.compactMap { life in
                    guard case .number(let onset)? = life["onset"], case .number(let failure)? = life["failure"] else { return nil }
                    return (onset, failure)
                }
            }
        }
        return (database, report, lives)
    }

    /// The loop: a simulated fleet runs to failure into a real agent, the trainer learns from the
    /// agent's database, and the signed bundle it writes verifies and predicts failures.
    @Test func trainsASignedModelFromAnAgentDatabase() throws {
        let broker = try TestBroker()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (database, report, _) = try Self.simulatedMotors(directory, name: "agent", seed: 2)
        #expect(report.maintenanceEvents > 4)
        let profiles = try DeviceProfile.loadAll(folder: Self.devices)
        let key = Ed25519.generate()
        let motor = profiles.first { $0.type == "induction-motor" }!
        let options = TrainingRun.Options(agentDatabase: database, profile: motor, rule: LabelRule(horizon: 48 * 3600), name: "motor-health")
        let result = try TrainingRun.run(options, signingKey: key)
        let bundle = try ModelBundle(bytes: result.bundle, trustedKeys: [key.publicKey])
        try bundle.check(against: motor)
        // Three networks from three seeds, which the bundle averages, an anomaly score that judges
        // each input with its trend, each input's level and pace (the network's trends at half a day,
        // the anomaly score's at two days), and no absolute inputs: format 8; with a degradation
        // clock, kept where validation puts it a point or more above the networks alone, format 9.
        #expect(bundle.networks.count == 3 && result.manifest.members == 3 && result.bundle[4] == (result.manifest.clock == nil ? 8 : 9))
        // The report names the best clock validation found, kept or not.
        #expect(result.manifest.clock == nil || result.clockValidation != nil)
        if let tried = result.clockValidation {
            #expect((result.manifest.clock != nil) == (tried.macroF1 >= tried.networks + DegradationClock.margin))
            #expect(result.manifest.clock.map { $0 == tried.clock } ?? true)
            #expect(TrainingReport.markdown(result).contains(result.manifest.clock != nil ? "in the networks' place" : "degradation clock | none kept"))
        }
        // It says too whether the fault diagnosis was kept, and how it named validation's modes.
        #expect(result.manifest.diagnosis == nil || result.diagnosisValidation != nil)
        if let choice = result.diagnosisValidation {
            #expect((result.manifest.diagnosis != nil) == choice.kept)
            #expect(TrainingReport.markdown(result).contains(choice.kept ? "| fault diagnosis (names the mode at an alarm) | " : "| fault diagnosis | none kept: "))
        }
        #expect(result.manifest.networkInputNames.last?.hasSuffix(":pace") == true && result.manifest.context == .standard)
        let anomaly = try #require(result.manifest.anomaly)
        #expect(anomaly.norms.count == result.manifest.inputs.count && anomaly.groups == anomaly.centers.indices.map { $0 % anomaly.norms.count })
        #expect(Set(bundle.networks.map { $0.layers[0].weights }).count == 3)
        // Trained with sensor dropout, the default, which its lineage and report say.
        #expect(result.manifest.lineage["sensor_dropout"] == .number(0.2))
        #expect(TrainingReport.markdown(result).contains("20% of the training windows"))
        #expect(TrainingReport.markdown(result).contains("and its growth and level; not its absolute value"))
        #expect(result.holdout.macroF1 >= 0.7, "macro-F1 \(result.holdout.macroF1)")
        #expect(result.int8Agreement >= 0.95)
        // The manifest's metrics are the int8 model's, with the float original's beside them.
        #expect(result.manifest.metrics["holdout_macro_f1"] == .number(result.holdout.macroF1))
        #expect(result.manifest.metrics["float"]?["holdout_macro_f1"] == .number(result.floatHoldout.macroF1))
        #expect(result.manifest.rounding == .single)
        // The training deciles of every input travel with the model, for drift at the edge.
        #expect(result.manifest.inputDeciles.count == result.manifest.inputs.count)
        #expect(result.manifest.inputDeciles.allSatisfy { $0.count == 9 && $0 == $0.sorted() })
        // Wear moves a motor's temperature and current together: a drift of either alone can be told.
        #expect(result.manifest.sensorDrift?.sensors == ["temperature", "current"])
        // Scored as the agent scores, on the same windows (held-out fleets are scripts/bench-models' work).
        let evaluation = try ModelEvaluation(bundle: bundle, dataset: openDatasetSource(database).dataset(
            profile: motor, rule: LabelRule(horizon: 48 * 3600), context: bundle.manifest.context))
        #expect(evaluation.alarms.failures > 0 && evaluation.devices == 12)
        // Its float original, as train writes it beside the bundle, scores the same windows; int8
        // stays close to it on every figure; too few networks, or one of another shape, are refused.
        try writeFile(directory.file("motor.float.json"), FloatNetwork.json(result.floatLayers).serialized())
        let float = try FloatNetwork.load(file: directory.file("motor.float.json"))
        #expect(float.map { $0.layers.map(\.weights) } == result.floatLayers.map { $0.map(\.weights) })
        let floatEvaluation = try ModelEvaluation(bundle: bundle, dataset: openDatasetSource(database).dataset(
            profile: motor, rule: LabelRule(horizon: 48 * 3600), context: bundle.manifest.context), float: float)
        #expect(floatEvaluation.arithmetic == "float" && floatEvaluation.metrics.examples == evaluation.metrics.examples)
        let differences = evaluation.differences(from: floatEvaluation)
        // The fault mode at the alarm is a share of a dozen failures: an alarm that starts a window
        // earlier in one arithmetic may name another mode, or name it a window later or not at
        // all, and that is one failure's step.
        let modeStep = 1 / Double(max(min(evaluation.alarms.modesNamed, floatEvaluation.alarms.modesNamed), 1))
        func allowed(_ figure: String, _ otherwise: Double) -> Double { figure.hasPrefix("fault_mode") ? modeStep + 1e-9 : otherwise }
        #expect(differences.count >= 8 && differences.allSatisfy { $0.difference <= allowed($0.figure, 0.05) }, "\(differences)")
        // Kept within int8's calibrated ranges, the float networks differ from int8 by rounding alone.
        let bounded = try ModelEvaluation(bundle: bundle, dataset: openDatasetSource(database).dataset(
            profile: motor, rule: LabelRule(horizon: 48 * 3600), context: bundle.manifest.context),
            float: zip(float, bundle.networks).map { $0.within($1) })
        let rounding = evaluation.differences(from: bounded)
        #expect(rounding.count == differences.count
                && rounding.allSatisfy { $0.difference <= allowed($0.figure, 0.02) }, "\(rounding)")
        let misfit = FloatNetwork(layers: [.init(inputs: 2, outputs: 2, weights: [1, 0, 0, 1], bias: [0, 0], relu: false)])
        let inputs = result.manifest.networkInputs, classes = result.manifest.classes.count
        let shallow = FloatNetwork(layers: [.init(inputs: inputs, outputs: classes, weights: Array(repeating: 0, count: inputs * classes),
                                                  bias: Array(repeating: 0, count: classes), relu: false)])
        for wrong in [Array(float.prefix(2)), [misfit] + float.dropFirst(), [shallow] + float.dropFirst()] {
            #expect(throws: EvaluationError.self) {
                try ModelEvaluation(bundle: bundle, dataset: openDatasetSource(database).dataset(
                    profile: motor, rule: LabelRule(horizon: 48 * 3600), context: bundle.manifest.context), float: wrong)
            }
        }
        #expect(result.manifest.classes == LabelRule.classes && (result.manifest.diagnosis != nil || result.faultModeAccuracy == nil))
        // With an early horizon the model also says "soon", between healthy and failing.
        let planned = try TrainingRun.run(.init(agentDatabase: database, profile: motor,
                                                rule: LabelRule(horizon: 48 * 3600, earlyHorizon: 336 * 3600), name: "motor-health"),
                                          signingKey: key)
        #expect(planned.manifest.classes == ["healthy", "soon", "failing"])
        #expect(planned.holdout.macroF1 >= 0.6, "macro-F1 \(planned.holdout.macroF1)")

        // With fault modes, the model also says what is coming: one failing class per mode the
        // events named (on this fleet they name the modes better than the diagnosis would).
        var withModes = TrainingRun.Options(agentDatabase: database, profile: motor, rule: LabelRule(horizon: 48 * 3600), name: "motor-health")
        withModes.recipe.faultModes = true
        let moded = try TrainingRun.run(withModes, signingKey: key)
        #expect(moded.manifest.classes.first == "healthy" && moded.manifest.classes.count > 2)
        #expect(moded.manifest.classes.dropFirst().allSatisfy { $0.hasPrefix("failing:") }, "\(moded.manifest.classes)")
        #expect(moded.faultModeAccuracy != nil && moded.manifest.diagnosis == nil && !moded.modeClassesLeftToDiagnosis)
        let modedEvaluation = try ModelEvaluation(bundle: ModelBundle(bytes: moded.bundle, trustedKeys: [key.publicKey]),
                                                  dataset: openDatasetSource(database).dataset(profile: motor, rule: LabelRule(horizon: 48 * 3600),
                                                                                               context: moded.manifest.context))
        #expect(modedEvaluation.alarms.modesKnown > 0 && modedEvaluation.alarms.modeRightAtAlarm != nil)
        // The anomaly score's alarms name the mode too, as the classifier's do (by the bundle's
        // diagnosis, or without one, the most likely failing class).
        #expect(modedEvaluation.anomalyAlarms.map { $0.modesKnown > 0 && $0.modeRightAtAlarm != nil } == true)
        #expect(evaluation.metrics.examples > result.counts.holdout)
        #expect(evaluation.json["macro_f1"] == .number(evaluation.metrics.macroF1))

        // A search tries every candidate, here at two network clocks, on the validation split and
        // keeps (first) the smallest no further above the lowest loss than one standard error of
        // the difference, at the lowest loss's clock.
        var search = options
        search.recipe.search = true
        search.recipe.searchedClocks = [86_400]
        let searched = try TrainingRun.run(search, signingKey: key)
        let clocks = [InputContext.standard.networkTrendSeconds] + search.recipe.searchedClocks
        #expect(searched.candidates.count == TrainingRun.searchSpace.count * clocks.count)
        #expect(Set(searched.candidates.map(\.networkTrendSeconds)) == Set(clocks))
        let lowest = try #require(searched.candidates.min { $0.validationLoss < $1.validationLoss })
        let kept = searched.candidates[0]
        #expect(lowest.aboveLowest == 0 && kept.aboveLowest <= kept.aboveLowestError)
        #expect(kept.networkTrendSeconds == lowest.networkTrendSeconds && searched.manifest.context?.networkTrendSeconds == kept.networkTrendSeconds)
        #expect(searched.candidates.filter { $0.aboveLowest > 0 }.allSatisfy { $0.aboveLowestError > 0 })
        #expect(searched.candidates.filter { $0.networkTrendSeconds == kept.networkTrendSeconds }.allSatisfy {
            $0.aboveLowest > $0.aboveLowestError || $0.parameters >= kept.parameters
        })
        #expect(lowest.validationLoss <= result.candidates[0].validationLoss + 1e-12, "the default is among the candidates")
        #expect(TrainingReport.markdown(searched).contains("Search on the validation split")
                && TrainingReport.markdown(searched).contains("network clock, h"))
        #expect(result.counts.holdout > 50)

        // The champion/challenger gate: the same model passes against itself; one that would
        // have to beat it by half a point of macro-F1 is refused. (The champion learned every
        // hold-out window, and so did the challenger's shipped networks, which meet it.)
        var gated = options
        gated.version = "1.1.0"
        gated.champion = bundle
        let same = try TrainingRun.run(gated, signingKey: key)
        #expect(same.gate?.passed == true)
        #expect(same.gate?.challenger == same.gate?.champion && same.gate?.windows == result.counts.holdout)
        gated.margin = -0.5
        #expect(try TrainingRun.run(gated, signingKey: key).gate?.passed == false)

        // The service's round: trains the types with new faults, writes the model and releases it;
        // with nothing new it does nothing; forced again, the challenger meets the champion.
        let models = directory.file("models")
        mkdir(models, 0o755)
        var service = TrainerService.Options(central: CentralBroker(url: try BrokerURL(parsing: broker.url)), store: database,
                                             profiles: [motor], modelsFolder: models, signingKey: key)
        let inbox = MessageInbox(maxPayloadBytes: 1 << 20)
        let fleet = try connectedClient(broker.url, id: "fleet", subscriptions: ["vigil/release/induction-motor/rule"], inbox: inbox)
        service.recipe.faultModes = true
        #expect(TrainerService(options: service).retrainRound() == ["induction-motor"])
        #expect(collect(inbox, count: 1).first?.payload.contains(#""version":"1.0.0""#) == true)
        let released = try ModelBundle(bytes: FileSystem.read(models + "/induction-motor.vgm"), trustedKeys: [key.publicKey])
        #expect(released.manifest.classes.count > 2, "fault-mode classes: \(released.manifest.classes)")
        service.minimumNewEvents = 1_000
        #expect(TrainerService(options: service).retrainRound().isEmpty)
        service.minimumNewEvents = 0
        #expect(TrainerService(options: service).retrainRound() == ["induction-motor"])
        #expect(collect(inbox, count: 1).first?.payload.contains(#""version":"1.1.0""#) == true)

        // Drift alone makes a round: an agent's report on the model in service (1.1.0 now) with an
        // input past the threshold; reports on an older version, or below it, do not.
        service.minimumNewEvents = 1_000
        let drifted = TrainerService(options: service)
        let inService = try ModelBundle(bytes: FileSystem.read(models + "/induction-motor.vgm"), trustedKeys: [key.publicKey]).manifest
        func drift(_ agent: String, version: String, psi: Double) -> DriftReport {
            DriftReport(agent: agent, deviceType: "induction-motor", model: inService.name, version: version, windows: 500,
                        psi: [("vibration.rms@count:2048:2048", psi), ("temperature.mean@time:3600:1800", 0.01)])
        }
        drifted.drift.record(drift("edge-1", version: "1.0.0", psi: 0.9))
        drifted.drift.record(drift("edge-2", version: inService.version, psi: 0.1))
        #expect(drifted.retrainRound().isEmpty)
        drifted.drift.record(drift("edge-2", version: inService.version, psi: 0.4))
        #expect(drifted.retrainRound() == ["induction-motor"])
        #expect(collect(inbox, count: 1).first?.payload.contains(#""version":"1.2.0""#) == true)
        // Each round leaves its report beside the models; the one drift started plots the drift
        // of the model it replaces, at the agents that ran that version.
        let roundReport = try readFile(models + "/induction-motor-1.2.0.md")
        #expect(roundReport.contains("| edge-2 | 1.1.0 | 500 | vibration.rms@count:2048:2048 | 0.4 |") && !roundReport.contains("edge-1"),
                "\(roundReport)")
        #expect(roundReport.contains("![drift](induction-motor-1.2.0.drift.svg)"))
        let plot = try readFile(models + "/induction-motor-1.2.0.drift.svg")
        #expect(plot.hasPrefix("<svg") && plot.contains("temperature.mean@time:3600:1800") && plot.contains("retrain at 0.25"))
        #expect(try readFile(models + "/induction-motor-1.0.0.md").contains("Input drift") == false)
        #expect(access(models + "/induction-motor-1.0.0.drift.svg", F_OK) != 0, "the first model replaced none")
        fleet.stop()
    }

    /// The networks shipped are trained again on every labelled window once the split has chosen
    /// and measured the model; the champion gate compares the two on windows neither learned from.
    @Test func theShippedNetworksLearnFromEveryWindowAndTheGateFromUnseenOnes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (database, _, _) = try Self.simulatedMotors(directory, name: "refit", seed: 5)
        let motor = try DeviceProfile.loadAll(folder: Self.devices).first { $0.type == "induction-motor" }!
        let key = Ed25519.generate()
        let options = TrainingRun.Options(agentDatabase: database, profile: motor, rule: LabelRule(horizon: 48 * 3600), name: "motor-health")
        let result = try TrainingRun.run(options, signingKey: key)
        // Not the split's networks, whose hold-out figures the manifest carries, as a run without
        // the refit measures them.
        var measuredOnly = options
        measuredOnly.recipe.refit = false
        let measured = try TrainingRun.run(measuredOnly, signingKey: key)
        #expect(measured.holdout.macroF1 == result.holdout.macroF1 && measured.holdout.rocAUC == result.holdout.rocAUC)
        #expect(measured.floatLayers.map { $0[0].weights } != result.floatLayers.map { $0[0].weights })
        #expect(result.manifest.lineage["refit"] == .bool(true) && measured.manifest.lineage["refit"] == .bool(false))
        #expect(TrainingReport.markdown(result).contains("trained again on every labelled window"))
        #expect(!TrainingReport.markdown(measured).contains("trained again"))
        // So is the kept fault diagnosis: it then knows a mode whose few failures all came late in
        // the devices' lives, as the networks do; without the refit it is the training split's.
        let dataset = try openDatasetSource(database).dataset(profile: motor, rule: LabelRule(horizon: 48 * 3600), context: .standard)
        let every = dataset.split()
        let shipped = try #require(result.manifest.diagnosis)
        #expect(shipped == FaultDiagnosis.fitted(train: every.train + every.validation + every.holdout, score: try #require(result.manifest.anomaly)))
        #expect(measured.manifest.diagnosis == measured.diagnosisValidation?.diagnosis && measured.manifest.diagnosis != shipped)
        #expect(TrainingReport.markdown(result).contains("| fault diagnosis (names the mode at an alarm) | \(shipped.modes.joined(separator: ", "))"))

        // A champion trained again on every window up to a time has learned the hold-out windows
        // before it: the gate compares the two on the later ones alone.
        let earlier = directory.file("earlier.db")
        try Database(path: database).execute("VACUUM INTO '\(earlier)'")
        let times = dataset.examples.map(\.windowEnd)
        let cut = times.min()! + 0.85 * (times.max()! - times.min()!)
        try Database(path: earlier).execute("DELETE FROM features WHERE window_end > \(cut); DELETE FROM maintenance_events WHERE ts > \(cut)")
        var earlierRun = options
        earlierRun.agentDatabase = earlier
        let champion = try TrainingRun.run(earlierRun, signingKey: key)
        let seenUntil = try #require(TrainingRun.trainedUntil(champion.manifest))
        #expect(seenUntil <= cut && TrainingRun.trainedUntil(measured.manifest) == nil)
        var challenger = options
        challenger.champion = try ModelBundle(bytes: champion.bundle, trustedKeys: [key.publicKey])
        let later = dataset.split().holdout.filter { $0.windowEnd > seenUntil }.count
        let challenged = try TrainingRun.run(challenger, signingKey: key)
        let compared = try #require(challenged.gate)
        #expect(compared.windows == later && later > 0 && later < result.counts.holdout, "\(compared.windows) of \(later)")
        #expect(TrainingReport.markdown(challenged).contains("on \(later) hold-out windows"))
    }

    /// A store too small to learn from is refused with a training error that names it and says
    /// why, not taken for a mistake on the command line; nothing is written.
    @Test func tooFewLabelledWindowsAreRefusedWithTheReason() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, profile) = try UpstreamIngestTests.twoAgentsStore(in: directory)
        let error = #expect(throws: TrainingError.self) {
            try TrainingRun.run(.init(agentDatabase: path, profile: profile, rule: LabelRule(horizon: 5), name: "motor-health"),
                                signingKey: Ed25519.generate())
        }
        #expect(error?.database == path && error?.problem.hasPrefix("not enough labelled windows to train") == true, "\(String(describing: error))")
    }

    /// Fault-mode classes give way to the diagnosis where it names the modes as well: on this
    /// fleet the model trained with fault modes is the binary one, beside a diagnosis that names
    /// the mode at the alarm, and its report says why (seed 2's fleet, above, keeps the classes).
    @Test func faultModeClassesGiveWayToADiagnosisThatNamesModesAsWell() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fleet = try Self.simulatedMotors(directory, name: "diagnosed", seed: 25)
        let motor = try DeviceProfile.loadAll(folder: Self.devices).first { $0.type == "induction-motor" }!
        let key = Ed25519.generate()
        var options = TrainingRun.Options(agentDatabase: fleet.database, profile: motor, rule: LabelRule(horizon: 48 * 3600), name: "motor-health")
        let binary = try TrainingRun.run(options, signingKey: key)
        options.recipe.faultModes = true
        let moded = try TrainingRun.run(options, signingKey: key)
        #expect(moded.modeClassesLeftToDiagnosis && !binary.modeClassesLeftToDiagnosis)
        #expect(moded.manifest.classes == LabelRule.classes && moded.manifest.diagnosis == binary.manifest.diagnosis)
        #expect(try #require(moded.manifest.diagnosis).modes.count >= 2)
        #expect(moded.manifest.layers == binary.manifest.layers && moded.holdout.macroF1 == binary.holdout.macroF1, "the binary model, trained alike")
        #expect(TrainingReport.markdown(moded).contains("| fault-mode classes | left out"))
        // Its hold-out figure for the mode is the diagnosis's, in the manifest and the report.
        let named = try #require(binary.faultModeAccuracy)
        #expect(moded.faultModeAccuracy == named && binary.manifest.metrics["fault_mode_accuracy"] == .number(named))
        #expect(TrainingReport.markdown(binary).contains("| fault mode right on failing windows | \((named * 1000).rounded() / 1000) (by the fault diagnosis) |"))
        // Both reports say how the diagnosis named validation's modes; the one with mode classes
        // beside what the classes did.
        let choice = try #require(binary.diagnosisValidation)
        #expect(choice.kept && choice.named > choice.commonest && choice.network == nil)
        let shippedModes = try #require(binary.manifest.diagnosis).modes
        #expect(TrainingReport.markdown(binary).contains("| fault diagnosis (names the mode at an alarm) | \(shippedModes.joined(separator: ", "))"))
        #expect(TrainingReport.markdown(binary).contains(": validation's failing windows named right \((choice.named * 1000).rounded() / 1000)"))
        let modedChoice = try #require(moded.diagnosisValidation)
        #expect(modedChoice.network != nil && TrainingReport.markdown(moded).contains("; the networks' classes "))
        let evaluation = try ModelEvaluation(bundle: ModelBundle(bytes: moded.bundle, trustedKeys: [key.publicKey]),
                                             dataset: openDatasetSource(fleet.database).dataset(profile: motor, rule: LabelRule(horizon: 48 * 3600),
                                                                                                context: moded.manifest.context))
        #expect(evaluation.alarms.modesKnown > 0 && evaluation.alarms.modeRightAtAlarm != nil)
    }

    /// Leave one fault mode out: motors that never failed on the outer race train the model, and
    /// its anomaly score (fitted on known-healthy windows only) still alarms before most
    /// outer-race failures of other motors, while the classifier, which never saw one, may not.
    @Test func theAnomalyScoreAlarmsOnAFaultModeNobodyLabelled() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let training = try Self.simulatedMotors(directory, name: "without-outer", seed: 21, modes: [.innerRace, .ball, .imbalance])
        let test = try Self.simulatedMotors(directory, name: "outer-only", seed: 22, modes: [.outerRace])
        let motor = try DeviceProfile.loadAll(folder: Self.devices).first { $0.type == "induction-motor" }!
        let key = Ed25519.generate()
        let result = try TrainingRun.run(.init(agentDatabase: training.database, profile: motor, rule: LabelRule(horizon: 48 * 3600),
                                               name: "motor-health"), signingKey: key)
        let bundle = try ModelBundle(bytes: result.bundle, trustedKeys: [key.publicKey])
        let anomaly = try #require(bundle.manifest.anomaly)
        // It looks at the inputs relative to each device's baseline, and their trends, not their growth or level.
        #expect(anomaly.alarm.consecutive == 3 && anomaly.firstInput == bundle.manifest.inputs.count)
        #expect(bundle.manifest.context == .standard && anomaly.centers.count == 2 * bundle.manifest.inputs.count)
        let evaluation = try ModelEvaluation(bundle: bundle, dataset: openDatasetSource(test.database).dataset(
            profile: motor, rule: LabelRule(horizon: 48 * 3600), context: bundle.manifest.context), lives: test.lives)
        let alarms = try #require(evaluation.anomalyAlarms)
        let outer = try #require(alarms.byMode["outer_race"])
        #expect(outer.failures >= 5 && Double(outer.caught) >= 0.75 * Double(outer.failures), "\(evaluation.text)")
        #expect(try #require(alarms.sustainedAlarmsOnHealthyMachinesPerDeviceDay) <= 0.05, "\(evaluation.text)")
    }
}

@Suite("Alarm evaluation")
struct AlarmEvaluationTests {
    /// A hand-made timeline of hourly windows on two devices over two days: false alarms are
    /// counted per device-day, a flicker is no sustained alarm, and the lead is measured from the
    /// last sustained alarm before the fault (not from an early false one that cleared).
    @Test func leadTimesAndFalseAlarmsOnAHandMadeTimeline() throws {
        let hour = 3600.0
        func windows(_ device: String, _ calls: String, failingFrom: Int) -> [AlarmEvaluation.Window] {
            calls.enumerated().map { index, call in
                .init(device: device, end: Double(index + 1) * hour, label: index >= failingFrom ? 1 : 0, alarm: call == "X")
            }
        }
        // a: a false sustained alarm at hours 3-5 that clears, a flicker at 10, the real one from 20; fault at 30.
        var a = windows("a", "..XXX....X.........XXXXXXXXXX", failingFrom: 18)
        a[21].mode = "outer_race"
        a[24].mode = "ball"
        // b: healthy throughout but one false window; no fault.
        let b = windows("b", "......X......................", failingFrom: 99)
        let evaluation = AlarmEvaluation(windows: a + b, faults: ["a": [.init(time: 30 * hour, mode: "outer_race")]],
                                         spans: ["a": (hour, 29 * hour), "b": (hour, 29 * hour)],
                                         onsets: ["a": [(onset: 10 * hour, failure: 30 * hour)], "b": [(onset: 100 * hour, failure: 200 * hour)]])
        #expect(abs(evaluation.deviceDays - 56.0 / 24) < 1e-9)
        // False windows: a's 3 early ones and its flicker, b's one.
        #expect(abs(evaluation.falseAlarmWindowsPerDeviceDay - 5 / (56.0 / 24)) < 1e-9)
        #expect(abs(evaluation.sustainedFalseAlarmsPerDeviceDay - 1 / (56.0 / 24)) < 1e-9)
        #expect(evaluation.failures == 1 && evaluation.caught == 1)
        // The last sustained alarm starts at the window ending at hour 20: 10 h before the fault,
        // half of the 20 h degradation.
        #expect(evaluation.leadHours == [10])
        #expect(evaluation.leadShareOfDegradation == [0.5])
        // Two hours into the alarm the model first named the fault's mode (what it named after
        // does not count).
        #expect(evaluation.modesKnown == 1 && evaluation.modesNamed == 1 && evaluation.modeRightAtAlarm == 1)
        #expect(evaluation.modeHours == [2] && evaluation.modeNamedShare == 1)
        // a's machine was healthy from hour 1 to its onset at 10 (its early false alarm began at 3),
        // b's all along: one sustained alarm in 9 + 28 healthy hours.
        let healthy = try #require(evaluation.sustainedAlarmsOnHealthyMachinesPerDeviceDay)
        #expect(abs(healthy - 1 / (37.0 / 24)) < 1e-9, "\(healthy)")
        // With a's sensors known faulty, b alone counts among sound machines: none in 28 h.
        let sound = AlarmEvaluation(windows: a + b, faults: ["a": [.init(time: 30 * hour, mode: "outer_race")]],
                                    spans: ["a": (hour, 29 * hour), "b": (hour, 29 * hour)],
                                    onsets: ["a": [(onset: 10 * hour, failure: 30 * hour)], "b": [(onset: 100 * hour, failure: 200 * hour)]],
                                    faultySensors: ["a"])
        #expect(sound.sustainedAlarmsOnHealthySoundMachinesPerDeviceDay == 0)
        #expect(sound.sustainedAlarmsOnHealthyMachinesPerDeviceDay == evaluation.sustainedAlarmsOnHealthyMachinesPerDeviceDay)
        // c: in alarm through two faults, at 10.5 and 20.5 h: each life's alarm is its own, both caught.
        let c = windows("c", "XXXXXXXXXXXXXXXXXXXX", failingFrom: 0)
        let twice = AlarmEvaluation(windows: c, faults: ["c": [.init(time: 10.5 * hour), .init(time: 20.5 * hour)]], spans: ["c": (0, 21 * hour)])
        #expect(twice.failures == 2 && twice.caught == 2 && twice.leadHours == [9.5, 9.5])
        // Faults whose modes the events give, alarmed by a model that names none: no share of
        // named modes to give.
        let unnamed = AlarmEvaluation(windows: c, faults: ["c": [.init(time: 10.5 * hour, mode: "ball"), .init(time: 20.5 * hour, mode: "ball")]],
                                      spans: ["c": (0, 21 * hour)])
        #expect(unnamed.modesKnown == 2 && unnamed.modesNamed == 0 && unnamed.modeRightAtAlarm == nil && unnamed.modeNamedShare == nil)
    }

    /// A model that calls every window hot, and a device that fails twice: the agent's alarm state
    /// starts afresh after the first fault's repair, so `evaluate` raises a second alarm before the
    /// second fault rather than counting one alarm running across both. `evaluate --windows`
    /// writes every window as it was scored, with the hours to the next fault.
    @Test func alarmStateStartsAfreshAfterARepair() throws {
        let key = Ed25519.generate()
        let input = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let layer = QuantizedDense(inputs: 1, outputs: 2, weights: [0, 0], bias: [0, 100],
                                   rescale: [QuantizedMultiplier(0.01), QuantizedMultiplier(0.01)], input: input, output: input, activation: .none)
        let manifest = ModelManifest(name: "hot", version: "1.0.0", createdAt: "2026-11-27T00:00:00Z", deviceTypes: ["motor"],
                                     inputs: [.init(sensor: "temperature", feature: "mean", window: .time(seconds: 3600, hopSeconds: 3600))],
                                     means: [0], scales: [1], classes: ["healthy", "failing"],
                                     layers: [.init(inputs: 1, outputs: 2, activation: .none, input: input, output: input)],
                                     alarm: AlarmPolicy(threshold: 0.5, consecutive: 3))
        let bundle = try ModelBundle(bytes: ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: key), trustedKeys: [key.publicKey])
        let hour = 3600.0
        // A device name a spreadsheet would split, to be quoted in the CSV.
        let device = "hall \"b\", m1"
        let examples = (1...20).map { index in
            Dataset.Example(device: device, windowEnd: Double(index) * hour, features: [1], label: index >= 8 && index < 10 || index >= 18 ? 1 : 0)
        }
        let dataset = Dataset(featureNames: ["temperature.mean"], examples: examples,
                              faults: [device: [.init(time: 10.5 * hour), .init(time: 20.5 * hour)]], spans: [device: (0, 21 * hour)])
        let evaluation = try ModelEvaluation(bundle: bundle, dataset: dataset)
        let alarms = evaluation.alarms
        #expect(alarms.failures == 2 && alarms.caught == 2, "\(alarms.caught) of \(alarms.failures)")
        // Each alarm is on from the third hot window of its life (the policy) and sustained from there.
        #expect(alarms.leadHours == [7.5, 7.5])
        let lines = evaluation.scoredCSV.split(separator: "\n").map(String.init)
        #expect(lines.count == 21 && lines[0] == "device,window_end,label,failing,alarm,anomaly,anomaly_alarm,mode,hours_to_fault")
        #expect(evaluation.scored.allSatisfy { $0.failing > 0.5 })
        // Hour 1 of the first life (no alarm yet), hour 3 (the alarm on), hour 8 (failing, 2.5 h
        // before the first fault), hour 11 (the second life, no alarm again), hour 20.
        #expect(lines[1].hasPrefix("\"hall \"\"b\"\", m1\",3600.0,0,") && lines[1].hasSuffix(",0,,,,9.5"))
        #expect(lines[3].hasSuffix(",1,,,,7.5") && lines[8].hasPrefix("\"hall \"\"b\"\", m1\",28800.0,1,") && lines[8].hasSuffix(",1,,,,2.5"))
        #expect(lines[11].hasSuffix(",0,,,,9.5") && lines[20].hasSuffix(",1,,,,0.5"))
    }
}

@Suite("Fault diagnosis fitting")
struct FaultDiagnosisFittingTests {
    /// Three modes, each moving its own input (and all of them a common one, as wear does),
    /// among inputs that only carry noise: the signatures keep the inputs that tell the modes
    /// apart, and windows that have moved a tenth as far point the way the late ones do.
    @Test func signaturesKeepTheInputsThatTellModesApart() throws {
        var random = SeededRandom(seed: 31, stream: 1)
        let score = AnomalyScore(centers: Array(repeating: 0, count: 10), scales: Array(repeating: 1, count: 10), alarm: .single)
        let modes = ["ball", "inner_race", "outer_race"]
        func window(_ mode: Int, size: Double) -> [Double] {
            (0..<10).map { input in
                let own = input == mode ? 4.0 : 0, common = input == 3 ? 6.0 : 0
                return size * (own + common) + 0.5 * (random.uniform(0...1) - 0.5)
            }
        }
        let train = (0..<60).map { index in
            Dataset.Example(device: "m\(index % 6)", windowEnd: Double(index), features: window(index % 3, size: 1), label: 1, mode: modes[index % 3])
        }
        let diagnosis = try #require(FaultDiagnosis.fitted(train: train, score: score))
        #expect(diagnosis.modes == modes)
        for (mode, signature) in diagnosis.signatures.enumerated() {
            #expect(abs(signature.reduce(0) { $0 + $1 * $1 } - 1) < 1e-9)
            #expect(signature.indices.max { signature[$0] < signature[$1] } == mode, "\(signature)")
            // What every mode does alike, the common input, tells nothing: it is taken out.
            #expect(abs(signature[3]) < 0.1, "\(signature)")
        }
        // Named by direction alone, they are right; with the margin it is fitted with, a window
        // that far off names no mode (noise could lead it astray), one twice the late ones' does.
        #expect(diagnosis.margin == FaultDiagnosis.sureMargin)
        var always = diagnosis
        always.margin = 0
        for mode in 0..<3 {
            #expect(always.mode(window(mode, size: 0.1), score: score) == modes[mode])
            #expect(diagnosis.mode(window(mode, size: 0.1), score: score) == nil)
            #expect(diagnosis.mode(window(mode, size: 2), score: score) == modes[mode])
        }
        // One mode alone, or modes with too few windows, make no diagnosis.
        #expect(FaultDiagnosis.fitted(train: train.filter { $0.mode == "ball" }, score: score) == nil)
        #expect(FaultDiagnosis.fitted(train: Array(train.prefix(12)), score: score) == nil)
    }
}

@Suite("Anomaly score fitting")
struct AnomalyScoreFittingTests {
    /// `count` devices' windows every half hour for `days`, from `start`, one input around
    /// `offset` with unit noise; labelled healthy with no fault ahead.
    static func devices(_ names: [String], start: Double, days: Double, offset: Double = 0, random: inout SeededRandom) -> [Dataset.Example] {
        names.flatMap { name in
            (0..<Int(days * 48)).map { step in
                Dataset.Example(device: name, windowEnd: start + Double(step) * 1800, features: [offset + random.gaussian()], label: 0)
            }
        }
    }

    /// Three devices of forty whose known-healthy windows sit far off (a faulty sensor, wear that
    /// began weeks before its fault) do not set the alarm threshold: it stays where the sound
    /// devices put it, and a window 4 spreads off in a run alarms. With ten devices, every one
    /// counts, the odd one too.
    @Test func aFewOddDevicesDoNotSetTheThreshold() throws {
        var random = SeededRandom(seed: 7, stream: 1)
        let names = (0..<40).map { "fan-\($0)" }
        let train = Self.devices(names, start: 0, days: 10, random: &random)
        let sound = Self.devices(Array(names.dropFirst(3)), start: 864_000, days: 5, random: &random)
        let odd = Self.devices(Array(names.prefix(3)), start: 864_000, days: 5, offset: 6, random: &random)
        let spans = Dictionary(uniqueKeysWithValues: names.map { ($0, (start: 0.0, end: 60 * 86_400.0)) })
        let dataset = Dataset(featureNames: ["x"], examples: [], spans: spans)
        let clean = try #require(AnomalyScore.fitted(train: train, validation: sound, in: dataset, inputs: 0..<1, groups: 1))
        let mixed = try #require(AnomalyScore.fitted(train: train, validation: sound + odd, in: dataset, inputs: 0..<1, groups: 1))
        // In mean squares (a level is s / (1 + s)): the sound devices' own spread, not the odd ones' 36.
        func meanSquare(_ level: Double) -> Double { level / (1 - level) }
        #expect(meanSquare(mixed.alarm.threshold) < 1.5 * meanSquare(clean.alarm.threshold), "\(mixed.alarm) \(clean.alarm)")
        #expect(mixed.level([4]) > mixed.alarm.threshold && mixed.alarm.consecutive == 3)
        #expect(mixed.level([1]) < mixed.alarm.threshold)
        // Ten devices, one odd: the threshold is the odd one's, above a window 4 spreads off.
        let few = Array(names.prefix(10))
        let small = try #require(AnomalyScore.fitted(train: train.filter { few.contains($0.device) },
                                                     validation: sound.filter { few.contains($0.device) } + odd.prefix(240),
                                                     in: dataset, inputs: 0..<1, groups: 1))
        #expect(small.level([4]) < small.alarm.threshold, "\(small.alarm)")
    }

    /// Judged in groups (an input and its trend), one input off alone alarms where the mean
    /// square of the whole window dilutes it below the alarm; healthy windows alarm in neither.
    @Test func oneInputOffAloneAlarmsInItsGroup() throws {
        var random = SeededRandom(seed: 9, stream: 1)
        let names = (0..<12).map { "pump-\($0)" }, day = 86_400.0, fault = 20 * day
        func windows(start: Double, days: Double) -> [Dataset.Example] {
            names.flatMap { name in
                (0..<Int(days * 48)).map { step in
                    Dataset.Example(device: name, windowEnd: start + Double(step) * 1800, features: (0..<12).map { _ in random.gaussian() }, label: 0)
                }
            }
        }
        let train = windows(start: 0, days: 5), after = windows(start: fault + 3600, days: 3)
        let dataset = Dataset(featureNames: (0..<12).map { "x\($0)" }, examples: [],
                              faults: Dictionary(uniqueKeysWithValues: names.map { ($0, [Dataset.Fault(time: fault)]) }),
                              spans: Dictionary(uniqueKeysWithValues: names.map { ($0, (start: 0.0, end: 30 * day)) }))
        let grouped = try #require(AnomalyScore.fitted(train: train, validation: after, in: dataset, inputs: 0..<12, groups: 6))
        let whole = try #require(AnomalyScore.fitted(train: train, validation: after, in: dataset, inputs: 0..<12, groups: 1))
        #expect(grouped.groups == (0..<12).map { $0 % 6 } && grouped.norms.count == 6 && whole.norms.count == 1)
        // Each pair of unit noises: 99% of a device's runs of 3 stay under ln(100) / 3 = 1.5, by
        // chance a little more at the device 90% of them stay under.
        #expect(grouped.norms.allSatisfy { (1.2...2.6).contains($0) }, "\(grouped.norms)")
        var alone = Array(repeating: 0.0, count: 12)
        alone[0] = 5
        #expect(grouped.level(alone) > grouped.alarm.threshold, "\(grouped.alarm) \(grouped.norms)")
        #expect(whole.level(alone) < whole.alarm.threshold, "\(whole.alarm) \(whole.norms)")
        let healthy = Array(repeating: 1.0, count: 12)
        #expect(grouped.level(healthy) < grouped.alarm.threshold && whole.level(healthy) < whole.alarm.threshold)
    }

    /// Wear that begins weeks before its fault (longer than the 14 quiet days) leaves every
    /// device's "long before a fault" windows off; the windows soon after the repair are healthy,
    /// and they set the threshold.
    @Test func windowsSoonAfterARepairSetTheThreshold() throws {
        var random = SeededRandom(seed: 8, stream: 1)
        let names = (0..<12).map { "fan-\($0)" }, day = 86_400.0, fault = 40 * 86_400.0
        // Healthy for 12 days, then wearing (6 spreads off) up to the fault; healthy after the repair.
        let before = Self.devices(names, start: 0, days: 12, random: &random)
            + Self.devices(names, start: 12 * day, days: 28, offset: 6, random: &random)
        let after = Self.devices(names, start: fault + 3600, days: 3, random: &random)
        let dataset = Dataset(featureNames: ["x"], examples: [],
                              faults: Dictionary(uniqueKeysWithValues: names.map { ($0, [Dataset.Fault(time: fault)]) }),
                              spans: Dictionary(uniqueKeysWithValues: names.map { ($0, (start: 0.0, end: 60 * day)) }))
        let score = try #require(AnomalyScore.fitted(train: before.filter { $0.windowEnd < 15 * day },
                                                     validation: before.filter { $0.windowEnd >= 15 * day } + after,
                                                     in: dataset, inputs: 0..<1, groups: 1))
        #expect(score.level([4]) > score.alarm.threshold, "\(score.alarm)")
        #expect(score.level([1]) < score.alarm.threshold)
    }
}

@Suite("Sensor drift check fitting")
struct SensorDriftCheckFittingTests {
    static let window = FeatureWindowSpec.Window.time(seconds: 3600, hopSeconds: 1800)
    static let inputs = [ModelManifest.Input(sensor: "vibration", feature: "mean", window: window),
                         ModelManifest.Input(sensor: "temperature", feature: "mean", window: window)]
    static let score = AnomalyScore(firstInput: 2, centers: [0, 0, 0, 0], scales: [1, 1, 1, 1], alarm: .single)

    /// A device's windows every half hour for three days, with vibration's and temperature's
    /// means `moved(hour)` spreads from healthy.
    static func device(_ name: String, _ moved: (Double) -> (vibration: Double, temperature: Double)) -> [Dataset.Example] {
        (0..<144).map { step in
            let (vibration, temperature) = moved(Double(step) / 2)
            return Dataset.Example(device: name, windowEnd: Double(step) * 1800, features: [1, 1, vibration, temperature, 0, 0], label: 0)
        }
    }

    /// Ten devices: wear moves vibration alone for a day before most of them fail (as a fan's
    /// vibration rises before its temperature), so vibration is not judged; temperature moves
    /// alone in one device, a drift, and is. In two devices of ten it would rule itself out too.
    @Test func sensorsThatWearMovesAloneAreNotJudged() throws {
        let fault = 60.0 * 3600
        var train: [Dataset.Example] = [], faults: [String: [Dataset.Fault]] = [:]
        for index in 0..<6 {
            train += Self.device("wearing-\(index)") { hour in (hour > 30 && hour < 60 ? 8 : 0, 0) }
            faults["wearing-\(index)"] = [.init(time: fault)]
        }
        // Far for 10 hours before a fault and 10 after it: two lives, no 12-hour run in either.
        train += Self.device("across-a-repair") { hour in (0, hour > 50 && hour < 70 ? 8 : 0) }
        faults["across-a-repair"] = [.init(time: fault)]
        train += Self.device("healthy") { _ in (0.5, -0.5) }
        let drifting = Self.device("drifting") { hour in (0, hour / 4) }
        let dataset = Dataset(featureNames: [], examples: [], faults: faults)
        let check = try #require(SensorDriftCheck.fitted(train: train + drifting + Self.device("sound") { _ in (0, 0) }, in: dataset,
                                                         inputs: Self.inputs, score: Self.score))
        #expect(check.sensors == ["temperature"])
        let twice = drifting + drifting.map { Dataset.Example(device: "drifting-too", windowEnd: $0.windowEnd, features: $0.features, label: 0) }
        #expect(SensorDriftCheck.fitted(train: train + twice, in: dataset, inputs: Self.inputs, score: Self.score) == nil)
        // Without a context, the anomaly score looks at absolute levels: no check.
        let absolute = AnomalyScore(centers: Array(repeating: 0, count: 6), scales: Array(repeating: 1, count: 6), alarm: .single)
        #expect(SensorDriftCheck.fitted(train: train + drifting, in: dataset, inputs: Self.inputs, score: absolute) == nil)
    }
}

@Suite("Degradation clock fitting")
struct DegradationClockFittingTests {
    /// Windows labelled failing where the hours left until the size reaches 0.4, ln(0.4 / size)
    /// over the rate, are within 48 (give or take a tenth) give weights whose line is that one:
    /// ln size = ln 0.4 - 48 rate. Windows of one label alone give none.
    @Test func theLogisticRegressionFindsTheLineOfTheHoursLeft() throws {
        var random = SeededRandom(seed: 3, stream: 1)
        var windows: [(measure: (logSize: Double, rate: Double), label: Int)] = []
        for _ in 0..<4_000 {
            let logSize = log(0.4) - random.uniform(0...6), rate = random.uniform(0.01...0.2)
            let hoursLeft = (log(0.4) - logSize) / rate * exp(0.1 * random.gaussian())
            windows.append(((logSize, rate), hoursLeft <= 48 ? 1 : 0))
        }
        #expect(windows.count { $0.label == 1 } > 400)
        let weights = try #require(DegradationClock.logisticWeights(windows))
        #expect(abs(weights[2] / weights[1] - 48) < 5, "\(weights)")
        #expect(abs(-weights[0] / weights[1] - log(0.4)) < 0.2, "\(weights)")
        #expect(DegradationClock.logisticWeights(windows.map { ($0.measure, 0) }) == nil)
    }
}

extension DegradationClockFittingTests {
    /// `count` devices from `first` on, one life each: a healthy day, then damage growing as
    /// 0.01 e^(rate t) at a rate of their own until it reaches 1, the failure, a window every
    /// 2 h. A motor's current rises with the damage's square (by 35% at failure, in 0.2% noise),
    /// two vibration bands with the damage itself at a gain of the device's own, a temperature
    /// is noise alone. The network inputs of the standard context, labelled failing within 48 h.
    static func lives(_ first: Int, count: Int, random: inout SeededRandom) -> (examples: [Dataset.Example], faults: [String: [Dataset.Fault]]) {
        var examples: [Dataset.Example] = [], faults: [String: [Dataset.Fault]] = [:]
        for number in first..<(first + count) {
            let device = "motor-\(number)", rate = random.uniform(0.02...0.06), gain = random.uniform(0.5...2)
            let failure = 86_400 + log(100) / rate * 3600
            var state = InputContext.State(), inputs: [Double] = []
            for step in 1... {
                let time = 7200 * Double(step)
                guard time < failure else { break }
                let damage = time < 86_400 ? 0 : 0.01 * exp(rate * (time - 86_400) / 3600)
                let raw = [10 * (1 + 0.35 * damage * damage) * (1 + 0.002 * random.gaussian()),
                           (1 + 20 * gain * damage) * (1 + 0.03 * random.gaussian()), (2 + 40 * gain * damage) * (1 + 0.03 * random.gaussian()),
                           40 + random.gaussian()]
                guard state.next(raw, at: time, context: .standard, into: &inputs) else { continue }
                examples.append(Dataset.Example(device: device, windowEnd: time, features: inputs, label: failure - time <= 48 * 3600 ? 1 : 0))
            }
            faults[device] = [Dataset.Fault(time: failure)]
        }
        return (examples, faults)
    }

    static let inputs = [ModelManifest.Input(sensor: "current", feature: "mean", window: .time(seconds: 3600, hopSeconds: 1800)),
                         ModelManifest.Input(sensor: "vibration", feature: "band_0_500", window: .count(size: 2048, hop: 2048)),
                         ModelManifest.Input(sensor: "vibration", feature: "band_500_1500", window: .count(size: 2048, hop: 2048)),
                         ModelManifest.Input(sensor: "temperature", feature: "mean", window: .time(seconds: 3600, hopSeconds: 1800))]

    /// On such machines the clock validation keeps takes the current for the size and the bands'
    /// family for the rate, and its weights put the hours left at about the horizon: it calls
    /// validation's machines far better than networks that know nothing. Networks that call every
    /// window right leave no room for a clock.
    @Test func validationKeepsTheClockOfTheDamagesSizeAndRate() throws {
        var random = SeededRandom(seed: 11, stream: 2)
        let train = Self.lives(0, count: 12, random: &random), validation = Self.lives(12, count: 8, random: &random)
        let dataset = Dataset(featureNames: InputContext.names(Self.inputs.map { "\($0.sensor).\($0.feature)" }, for: .standard),
                              examples: train.examples + validation.examples, faults: train.faults.merging(validation.faults) { $1 })
        #expect(DegradationClock.families(Self.inputs) == [[0], [1, 2], [3]])
        let blind = Array(repeating: 0.3, count: validation.examples.count)
        let kept = try #require(DegradationClock.chosen(dataset: dataset, train: train.examples, validation: validation.examples, context: .standard,
                                                        inputs: Self.inputs, networkTrouble: blind, seconds: 86_400))
        #expect(kept.clock.size == 0 && kept.clock.rates == [1, 2], "\(kept.clock)")
        #expect(kept.macroF1 > 0.9 && kept.networks < 0.5, "\(kept.macroF1) against \(kept.networks)")
        // Failing within 48 h: w0 + w1 ln size + w2 rate > 0, a line whose rate weight over the size's is in hours.
        #expect((30...70).contains(kept.clock.weights[2] / kept.clock.weights[1]), "\(kept.clock.weights)")
        let sighted = validation.examples.map { Double($0.label) }
        let unkept = try #require(DegradationClock.chosen(dataset: dataset, train: train.examples, validation: validation.examples, context: .standard,
                                                          inputs: Self.inputs, networkTrouble: sighted, seconds: 86_400))
        #expect(!unkept.kept && unkept.networks == 1 && kept.kept)
    }
}
