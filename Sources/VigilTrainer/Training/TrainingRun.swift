import VigilCore
import VigilInference

/// One training run for a device type: dataset from an agent database and the label rule,
/// time-based split, standardisation, training, post-training int8 quantization, hold-out
/// evaluation of both float and int8, and a signed bundle with the run's lineage and metrics.
public struct TrainingRun {
    /// What shapes a model whichever data it learns from, as `train` takes it once and `serve`
    /// for every round: the labels, the classes, the inputs and the search.
    public struct Recipe: Sendable {
        public var rule = LabelRule(horizon: 48 * 3600, earlyHorizon: 336 * 3600)
        /// Search `searchSpace` on the validation split instead of `hidden` and `learningRate`.
        public var search = false
        /// One failing class per fault mode the events name, instead of one failing class.
        public var faultModes = false
        /// Each input also relative to the device's baseline, and its trend; nil: inputs alone.
        public var context: InputContext? = .standard
        /// What bounds the standardised inputs (`ModelManifest.Squash`): with `asinh`, a machine
        /// far outside the training data neither drives the float network where it never learned
        /// nor makes int8 saturate where float does not.
        public var squash: ModelManifest.Squash = .asinh
        /// How many networks the model averages (`ModelManifest.members`): the chosen size and
        /// learning rate trained from as many seeds, so one unlucky draw does not make the model.
        public var members = 3
        /// The share of training windows shown with one sensor's inputs at healthy
        /// (`SensorDropout`); 0 shows every window as it is. A fifth: on tuning fleets where half
        /// the devices have a faulty sensor it mended the fans whose velocity sensor stuck, and
        /// cost no type more than 0.003 of macro-F1 elsewhere (docs/model-experiments.md).
        public var sensorDropout = 0.2
        /// AdamW's decoupled weight decay on the networks' weights: each step shrinks them by
        /// the learning rate times this. With 20 to 30 failures a type to learn from, it keeps a
        /// network from fitting the training fleet's own machines.
        public var weightDecay = 0.1
        /// Whether the networks shipped are trained again on every labelled window (training,
        /// validation and hold-out), each for the epochs its validation loss chose, once the
        /// split has chosen and measured the model: a training fleet holds 20 to 30 failures of a
        /// type, and the last 40% of each device's life holds many of them. A kept fault diagnosis
        /// is fitted again on them too. The manifest's metrics are then those of the same recipe
        /// trained on each device's past.
        public var refit = true
        /// The network's clocks (`InputContext.networkTrendSeconds`) a search tries beside the
        /// context's own, each with every size and learning rate of `searchSpace`: how fast a
        /// type's machines degrade decides which follows them best. None by default: on the
        /// tuning fleets validation chose 24 h beside 12 h for pumps and two motor seeds of three,
        /// and both did worse there than at 12 h alone.
        public var searchedClocks: [Double] = []
        /// The time constant of a degradation clock's rate (`DegradationClock`), which validation
        /// keeps where it betters the networks; nil: no clock.
        public var clockSeconds: Double? = 86_400

        public init() {}

        /// The contexts training tries: the recipe's, and with a search, the same at each of
        /// `searchedClocks`.
        var contexts: [InputContext?] {
            guard search, let context else { return [context] }
            var contexts = [context]
            for clock in searchedClocks where !contexts.contains(where: { $0.networkTrendSeconds == clock }) {
                var other = context
                other.networkTrendSeconds = clock
                contexts.append(other)
            }
            return contexts
        }
    }

    public struct Options: Sendable {
        public var agentDatabase: String
        public var profile: DeviceProfile
        public var recipe: Recipe
        /// Hidden layer widths; empty trains a logistic regression.
        public var hidden: [Int] = [16]
        /// Adam's learning rate.
        public var learningRate = 0.005
        public var seed: UInt64 = 1
        public var name: String
        public var version: String = "1.0.0"
        /// The model in service: the new one is released only if its int8 macro-F1 on this
        /// hold-out is not worse than the champion's by more than `margin`.
        public var champion: ModelBundle?
        public var margin = 0.02

        public init(agentDatabase: String, profile: DeviceProfile, recipe: Recipe = Recipe(), name: String) {
            self.agentDatabase = agentDatabase
            self.profile = profile
            self.recipe = recipe
            self.name = name
        }

        public init(agentDatabase: String, profile: DeviceProfile, rule: LabelRule, name: String) {
            var recipe = Recipe()
            recipe.rule = rule
            self.init(agentDatabase: agentDatabase, profile: profile, recipe: recipe, name: name)
        }
    }

    /// One candidate of the search, and how it did on the validation split.
    public struct Candidate: Sendable {
        public var hidden: [Int]
        public var learningRate: Double
        /// The network's clock (`InputContext.networkTrendSeconds`); nil without a context.
        public var networkTrendSeconds: Double?
        /// The weights and biases of one network of this size.
        public var parameters: Int
        public var validationLoss: Double
        /// How far its validation loss lies above the lowest candidate's, and that difference's
        /// standard error, window by window on the same validation windows, each device's windows
        /// one draw (`difference(_:_:devices:)`).
        public var aboveLowest: Double
        public var aboveLowestError: Double
        public var epochs: Int

        public init(hidden: [Int], learningRate: Double, networkTrendSeconds: Double? = nil, parameters: Int, validationLoss: Double,
                    aboveLowest: Double, aboveLowestError: Double, epochs: Int) {
            self.hidden = hidden
            self.learningRate = learningRate
            self.networkTrendSeconds = networkTrendSeconds
            self.parameters = parameters
            self.validationLoss = validationLoss
            self.aboveLowest = aboveLowest
            self.aboveLowestError = aboveLowestError
            self.epochs = epochs
        }

        /// The search's rule (the one-standard-error rule): of the candidates at the network clock
        /// of the lowest loss no further above it than one standard error, the one with the
        /// fewest parameters (then the lowest loss). A validation split holds a few failures, and
        /// an edge a bigger network cannot tell from chance there rarely carries to machines it
        /// never saw; a clock is no size, so the lowest loss alone chooses it. Nil if no loss is
        /// finite.
        public static func chosen(_ candidates: [Candidate]) -> Int? {
            let finite = candidates.indices.filter { candidates[$0].validationLoss.isFinite }
            guard let lowest = finite.min(by: { candidates[$0].validationLoss < candidates[$1].validationLoss }) else { return nil }
            return finite.filter {
                candidates[$0].networkTrendSeconds == candidates[lowest].networkTrendSeconds && candidates[$0].aboveLowest <= candidates[$0].aboveLowestError
            }.min {
                (candidates[$0].parameters, candidates[$0].validationLoss) < (candidates[$1].parameters, candidates[$1].validationLoss)
            }
        }

        /// The mean of `losses` minus `lowest`'s (each window's loss, the same windows in the
        /// same order) and its standard error with every window of one of `devices` (numbered from
        /// 0) taken as one draw: one device's windows follow each other and are not independent.
        public static func difference(_ losses: [Double], _ lowest: [Double], devices: [Int]) -> (mean: Double, error: Double) {
            precondition(losses.count == lowest.count && devices.count == losses.count, "a difference needs the same windows")
            guard !losses.isEmpty else { return (0, 0) }
            let differences = zip(losses, lowest).map { $0 - $1 }
            let mean = differences.reduce(0, +) / Double(differences.count)
            // Each device's summed residual, in device order (a sum's order moves its last bits).
            var residuals = Array(repeating: 0.0, count: (devices.max() ?? 0) + 1)
            for (index, difference) in differences.enumerated() { residuals[devices[index]] += difference - mean }
            let draws = Double(Set(devices).count)
            guard draws > 1 else { return (mean, 0) }
            let variance = draws / (draws - 1) * residuals.reduce(0) { $0 + $1 * $1 }
            return (mean, variance.squareRoot() / Double(differences.count))
        }
    }

    /// The model sizes and learning rates a search tries.
    public static let searchSpace: [(hidden: [Int], learningRate: Double)] =
        [[], [8], [16], [32], [16, 8]].flatMap { hidden in [0.002, 0.005, 0.01].map { (hidden, $0) } }

    /// What the run produced.
    public struct Result {
        public var bundle: [UInt8]
        public var manifest: ModelManifest
        /// The float originals of the bundle's member networks (hidden layers ReLU, logits last),
        /// for `evaluate --float`: what int8 is measured against.
        public var floatLayers: [[FloatNetwork.Layer]]
        /// The int8 model's hold-out metrics (what agents run), its float original's, and how
        /// often the two predict the same class.
        public var holdout: Evaluation
        public var floatHoldout: Evaluation
        public var int8Agreement: Double
        /// On failing hold-out windows, how often the int8 model's failing classes name the coming
        /// fault's mode, or without them its fault diagnosis (on the windows whose mode is known).
        public var faultModeAccuracy: Double?
        public var epochs: [Classifier.Epoch]
        /// The candidates tried, the one kept first (just it without a search).
        public var candidates: [Candidate]
        public var counts: (train: Int, validation: Int, holdout: Int)
        /// The new model's and the champion's int8 macro-F1 on the same hold-out windows (how
        /// many), when gated.
        public var gate: (challenger: Double, champion: Double, passed: Bool, windows: Int)?
        /// Whether the recipe asked for fault-mode classes and the diagnosis named validation's
        /// modes at least as well as they did: the model then has one failing class beside it.
        public var modeClassesLeftToDiagnosis = false
        /// The best degradation clock validation found, kept (`ModelManifest.clock`) or not, with
        /// validation's macro-F1 with it and of the networks alone, which decided.
        public var clockValidation: (clock: DegradationClock, macroF1: Double, networks: Double)?
        /// The fault diagnosis fitted, kept (`ModelManifest.diagnosis`) or not, with how it named
        /// validation's modes, which decided.
        public var diagnosisValidation: FaultDiagnosis.Choice?
    }

    public static func run(_ options: Options, signingKey: Ed25519.KeyPair, progress: (Classifier.Epoch) -> Void = { _ in }) throws -> Result {
        let recipe = options.recipe
        let source = try openDatasetSource(options.agentDatabase)
        var inputs: [ModelManifest.Input] = []
        for spec in options.profile.features {
            for feature in spec.features {
                inputs.append(.init(sensor: options.profile.sensors[spec.sensor].name, feature: feature, window: spec.window))
            }
        }
        var splits: [TrainingSplit] = []
        for context in recipe.contexts {
            splits.append(try TrainingSplit(source: source, profile: options.profile, context: context, inputs: inputs, recipe: recipe,
                                            database: options.agentDatabase))
        }
        var output: [Double] = []

        /// The networks for one class layout: healthy, with an early horizon "soon", then failing,
        /// or failing per fault mode in `modes` ("failing:outer_race"); the probability of failing
        /// within the horizon is the failing classes'. The search (or the one candidate), the
        /// ensemble's members, their int8 networks and what those give validation and hold-out.
        /// The search tries each of `splits` (one per network clock, the same windows in each).
        func fitted(modes: [String], among splits: [TrainingSplit]) throws -> Fitted {
            let early = recipe.rule.earlyHorizon != nil
            let classes = ["healthy"] + (early ? [LabelRule.soon] : []) + (modes.isEmpty ? ["failing"] : modes.map { "failing:\($0)" })
            let failingClasses = classes.indices.filter { ModelManifest.isFailing(classes[$0]) }
            func label(_ example: Dataset.Example) -> Int {
                example.label == 0 ? (early && example.soon ? 1 : 0) : failingClasses[modes.firstIndex(of: example.mode ?? "unknown") ?? 0]
            }

            // One candidate, or the search, chosen by `Candidate.chosen`; candidates of every split
            // are compared on the same validation windows.
            let space = recipe.search ? Self.searchSpace : [(options.hidden, options.learningRate)]
            let sets = splits.map { split in
                precondition(split.validation.map(\.windowEnd) == splits[0].validation.map(\.windowEnd), "one validation split for every clock")
                return (train: split.standardised(split.train, label: label),
                        validation: split.standardised(split.validation, label: label))
            }
            var tried: [(split: Int, hidden: [Int], learningRate: Double, classifier: Classifier, epochs: [Classifier.Epoch], losses: [Double])] = []
            for (index, split) in splits.enumerated() {
                let (trainSet, validationSet) = sets[index]
                for (hidden, learningRate) in space {
                    var classifier = Classifier(inputs: split.width, hidden: hidden, classes: classes.count, seed: options.seed)
                    var epochs: [Classifier.Epoch] = []
                    let losses = classifier.train(trainSet, validation: validationSet, learningRate: learningRate, weightDecay: recipe.weightDecay,
                                                  dropout: split.dropout, seed: options.seed) { epoch in
                        epochs.append(epoch)
                        if !recipe.search { progress(epoch) }
                    }
                    tried.append((index, hidden, learningRate, classifier, epochs, losses))
                }
            }
            let validationLosses = tried.map { $0.epochs.map(\.validationLoss).min() ?? .infinity }
            let lowest = tried[validationLosses.indices.min { validationLosses[$0] < validationLosses[$1] } ?? 0].losses
            var candidates = tried.indices.map { index in
                let one = tried[index]
                let difference = Candidate.difference(one.losses, lowest, devices: splits[one.split].validationDevices)
                return Candidate(hidden: one.hidden, learningRate: one.learningRate, networkTrendSeconds: splits[one.split].context?.networkTrendSeconds,
                                 parameters: one.classifier.layers.reduce(0) { $0 + $1.weights.count + $1.bias.count },
                                 validationLoss: validationLosses[index], aboveLowest: difference.mean, aboveLowestError: difference.error,
                                 epochs: one.epochs.count)
            }
            guard let kept = Candidate.chosen(candidates) else {
                throw TrainingError(database: options.agentDatabase, problem: "no candidate reached a finite validation loss")
            }
            let (classifier, epochs, chosen) = (tried[kept].classifier, tried[kept].epochs, candidates[kept])
            let split = splits[tried[kept].split], width = split.width, dropout = split.dropout
            let (trainSet, validationSet) = sets[tried[kept].split]
            let holdoutSet = split.standardised(split.holdout, label: label)
            // The one kept first, then the rest by loss.
            candidates.remove(at: kept)
            candidates.sort { ($0.validationLoss, $0.parameters) < ($1.validationLoss, $1.parameters) }
            candidates.insert(chosen, at: 0)
            // The ensemble: the chosen network, and as many more of its size and learning rate as
            // the recipe asks, each from a seed of its own.
            let seeds = (0..<max(recipe.members, 1)).map { options.seed &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
            var members = [classifier]
            var bestEpochs = [Self.bestEpoch(epochs)]
            for seed in seeds.dropFirst() {
                var another = Classifier(inputs: width, hidden: chosen.hidden, classes: classes.count, seed: seed)
                var anotherEpochs: [Classifier.Epoch] = []
                another.train(trainSet, validation: validationSet, learningRate: chosen.learningRate, weightDecay: recipe.weightDecay,
                              dropout: dropout, seed: seed) { anotherEpochs.append($0) }
                members.append(another)
                bestEpochs.append(Self.bestEpoch(anotherEpochs))
            }
            let quantized = members.map { PostTrainingQuantizer.quantize($0, calibration: trainSet.map(\.x)) }
            let networks = quantized.map(QuantizedNetwork.init)
            // What is shipped: with `refit`, each member trained again from its seed on every
            // labelled window for its best epochs; without, the members measured here.
            var shipped = members, shippedQuantized = quantized
            if recipe.refit {
                let everySet = trainSet + validationSet + holdoutSet
                shipped = zip(seeds, bestEpochs).map { seed, epochs in
                    var again = Classifier(inputs: width, hidden: chosen.hidden, classes: classes.count, seed: seed)
                    again.train(everySet, validation: [], epochs: epochs, learningRate: chosen.learningRate, weightDecay: recipe.weightDecay,
                                dropout: dropout, seed: seed)
                    return again
                }
                shippedQuantized = shipped.map { PostTrainingQuantizer.quantize($0, calibration: everySet.map(\.x)) }
            }
            /// Class probabilities of int8 networks for standardised inputs, as the agent computes
            /// them: each member's softmax, averaged.
            func probabilities(_ x: [Double], _ networks: [QuantizedNetwork]) -> [Double] {
                x.withUnsafeBufferPointer { inputs in
                    ModelBundle.meanProbabilities(members: networks.count, classes: classes.count, into: &output) { member, output in
                        networks[member].predict(inputs, into: &output)
                    }
                }
                return output
            }
            let holdoutProbabilities = holdoutSet.map { probabilities($0.x, networks) }
            var shippedHoldoutProbabilities = holdoutProbabilities
            if recipe.refit {
                let shippedNetworks = shippedQuantized.map(QuantizedNetwork.init)
                shippedHoldoutProbabilities = holdoutSet.map { probabilities($0.x, shippedNetworks) }
            }
            return Fitted(split: split, modes: modes, classes: classes, failingClasses: failingClasses, holdoutSet: holdoutSet, members: members,
                          shipped: shipped, shippedQuantized: shippedQuantized, epochs: epochs, candidates: candidates, chosen: chosen,
                          validationProbabilities: validationSet.map { probabilities($0.x, networks) },
                          holdoutProbabilities: holdoutProbabilities,
                          shippedHoldoutProbabilities: shippedHoldoutProbabilities)
        }

        let modes = recipe.faultModes ? Set(splits[0].dataset.examples.compactMap { $0.label == 1 ? $0.mode ?? "unknown" : nil }).sorted() : []
        var fit = try fitted(modes: modes, among: splits)
        // What the rest is made of: the windows and context of the network kept.
        let split = fit.split
        let (dataset, train, validation, holdout, anomaly) = (split.dataset, split.train, split.validation, split.holdout, split.anomaly)
        // What names the fault mode at an alarm: the direction the inputs left healthy in, if it
        // names validation's modes better than the commonest mode and the network do.
        let diagnosisChoice = anomaly.flatMap { score in
            FaultDiagnosis.chosen(train: train, validation: validation, score: score,
                                  networkModes: modes.isEmpty ? nil : fit.validationProbabilities.map { ModelManifest.faultMode($0, classes: fit.classes) })
        }
        let diagnosis = diagnosisChoice.flatMap { $0.kept ? $0.diagnosis : nil }
        // What is shipped, like the networks: with `refit`, fitted again on every labelled window,
        // so that a mode whose few failures all fall late in the devices' lives is known too.
        let shippedDiagnosis = recipe.refit && diagnosis != nil
            ? anomaly.flatMap { FaultDiagnosis.fitted(train: train + validation + holdout, score: $0) } : diagnosis
        // Failing classes per mode split a few failures into fewer still, and the probability of
        // failing suffers for it: when the diagnosis names the modes at least as well, the networks
        // are trained again with one failing class, and the diagnosis alone names the modes.
        let modeClassesLeftToDiagnosis = !modes.isEmpty && diagnosis != nil
        if modeClassesLeftToDiagnosis { fit = try fitted(modes: [], among: [split]) }
        let (classes, members) = (fit.classes, fit.members)
        // Where a damage's size and rate are measured, a clock may tell the hours left better than
        // the networks: validation decides. Every figure below is then of both, as agents score.
        let clockChoice = recipe.clockSeconds.flatMap { seconds in
            DegradationClock.chosen(dataset: dataset, train: train, validation: validation, context: split.context, inputs: inputs,
                                    networkTrouble: fit.validationProbabilities.map { ModelManifest.trouble($0, classes: classes) }, seconds: seconds)
        }
        let clockChosen = clockChoice.flatMap { $0.kept ? $0 : nil }
        let clock = clockChosen?.clock
        let clockMeasures = clockChosen?.measures ?? [:]
        /// `probabilities` of `examples` with the clock's where it answers.
        func clocked(_ probabilities: [[Double]], _ examples: [Dataset.Example]) -> [[Double]] {
            guard let clock else { return probabilities }
            return zip(probabilities, examples).map { probabilities, example in
                var clocked = probabilities
                if let measured = clockMeasures[.init(example)] { DegradationClock.apply(clock.probability(measured), to: &clocked, classes: classes) }
                return clocked
            }
        }
        let int8Probabilities = clocked(fit.holdoutProbabilities, holdout)
        let validationTrouble = clocked(fit.validationProbabilities, validation).map { ModelManifest.trouble($0, classes: classes) }
        let alarm = AlarmPolicy.chosen(trouble: validationTrouble, labels: validation.map(\.label), devices: validation.map(\.device))
        // Which sensors a drift can be told on: those that wear rarely moves alone.
        let sensorDrift = anomaly.flatMap { SensorDriftCheck.fitted(train: train, in: dataset, inputs: inputs, score: $0) }
        // Failing within the horizon or not, whatever the mode: the failing classes against the rest.
        let truth = holdout.map(\.label)
        let floatProbabilities = clocked(fit.holdoutSet.map { x in
            ModelBundle.meanProbabilities(members: members.count, classes: classes.count, into: &output) { member, logits in
                logits = members[member].forward(x.x)[members[member].layers.count]
            }
            return output
        }, holdout)
        let evaluation = Evaluation(truth: truth, probabilities: int8Probabilities.map { Evaluation.failingOrNot($0, classes: classes) },
                                    classes: LabelRule.classes.count)
        let floatEvaluation = Evaluation(truth: truth, probabilities: floatProbabilities.map { Evaluation.failingOrNot($0, classes: classes) },
                                         classes: LabelRule.classes.count)
        let agreement = Evaluation.agreement(int8Probabilities, floatProbabilities)
        // On failing windows, how often the most likely failing class, or else the diagnosis,
        // names the coming fault's mode.
        let failing = holdout.indices.filter { holdout[$0].label == 1 }
        let modeAccuracy = fit.modes.isEmpty ? diagnosis.flatMap { diagnosis in anomaly.flatMap { diagnosis.namedRight(holdout, score: $0) } }
            : failing.isEmpty ? nil : Double(failing.filter { index in
                let p = int8Probabilities[index]
                return fit.failingClasses.max { p[$0] < p[$1] } == fit.holdoutSet[index].y
            }.count) / Double(failing.count)
        var gate: (challenger: Double, champion: Double, passed: Bool, windows: Int)?
        if let champion = options.champion {
            // The champion scores the same hold-out windows with the inputs its own context gives
            // and its own standardisation; both are compared on the windows both score.
            let championManifest = champion.manifest
            guard championManifest.inputs.count == inputs.count,
                  championManifest.classes.first == "healthy" else {
                throw TrainingError(database: options.agentDatabase,
                                    problem: "the champion \(championManifest.name) \(championManifest.version) takes other inputs or has no healthy class: it cannot be compared on this hold-out")
            }
            let championSet = championManifest.context == split.context ? dataset
                : try source.dataset(profile: options.profile, rule: recipe.rule, context: championManifest.context)
            let championInputs = Dictionary(championSet.examples.map { (DegradationClock.Key($0), $0.features) }) { first, _ in first }
            let championClock = championManifest.clock.flatMap { clock in
                championManifest.context.map { clock.measures(in: championSet, raw: inputs.count, context: $0) }
            } ?? [:]
            // Both are compared on windows neither learned from. A champion trained again on every
            // window has learned the hold-out windows of its own time: the later ones, where there
            // are any; else every one, and the challenger's shipped networks, which learned them too.
            let championUntil = Self.trainedUntil(championManifest)
            let seenUntil = championUntil.flatMap { last in holdout.contains { $0.windowEnd > last } ? last : nil }
            let challengerProbabilities = championUntil != nil && seenUntil == nil ? clocked(fit.shippedHoldoutProbabilities, holdout) : int8Probabilities
            var scratch: [Double] = []
            var common: [Int] = [], championProbabilities: [[Double]] = []
            for (index, example) in holdout.enumerated() where example.windowEnd > seenUntil ?? -.infinity {
                guard let inputs = championInputs[DegradationClock.Key(example)] else { continue }
                champion.probabilities(raw: inputs, scratch: &scratch, into: &output)
                if let clock = championManifest.clock, let measured = championClock[DegradationClock.Key(example)] {
                    DegradationClock.apply(clock.probability(measured), to: &output, classes: championManifest.classes)
                }
                common.append(index)
                championProbabilities.append(Evaluation.failingOrNot(output, classes: championManifest.classes))
            }
            let commonTruth = common.map { truth[$0] }
            let championF1 = Evaluation(truth: commonTruth, probabilities: championProbabilities, classes: 2).macroF1
            let challengerF1 = Evaluation(truth: commonTruth, probabilities: common.map { Evaluation.failingOrNot(challengerProbabilities[$0], classes: classes) },
                                          classes: 2).macroF1
            gate = (challengerF1, championF1, challengerF1 >= championF1 - options.margin, common.count)
        }

        let times = dataset.examples.map(\.windowEnd)
        let manifest = ModelManifest(
            name: options.name, version: options.version, createdAt: WallClock.utc(WallClock.now()), deviceTypes: [options.profile.type],
            inputs: inputs, context: split.context, means: split.means, scales: split.scales, squash: recipe.squash, classes: classes,
            layers: fit.shippedQuantized.joined().map { .init(inputs: $0.inputs, outputs: $0.outputs, activation: $0.activation, input: $0.input, output: $0.output) },
            members: members.count,
            alarm: alarm, anomaly: anomaly, diagnosis: shippedDiagnosis, sensorDrift: sensorDrift, clock: clock, inputDeciles: inputs.indices.map { input in DriftMonitor.deciles(train.map { $0.features[input] }) },
            lineage: [
                "source": .string("agent database"), "devices": .array(Set(dataset.examples.map(\.device)).sorted().map(JSONValue.string)),
                "time_range": .array([.number(times.min() ?? 0), .number(times.max() ?? 0)]),
                "rows": ["train": .number(Double(train.count)), "validation": .number(Double(validation.count)),
                         "holdout": .number(Double(holdout.count))],
                "label_rule": .string("failing within \(recipe.rule.horizon / 3600) h before a confirmed fault"
                                      + (recipe.rule.earlyHorizon.map { ", soon within \($0 / 3600) h" } ?? "") + "; unknown outcome left out"),
                "model": .string((fit.chosen.hidden.isEmpty ? "logistic regression" : "MLP \(fit.chosen.hidden)")
                                 + (members.count > 1 ? ", mean of \(members.count) trained from different seeds" : "")),
                "context": .string(split.context.map {
                    "baseline \($0.baselineSeconds / 3600) h, trend \($0.trendSeconds / 3600) h"
                        + ($0.paced ? ", the network's \($0.networkTrendSeconds / 3600) h" : "")
                } ?? "none"),
                "refit": .bool(recipe.refit),
                "learning_rate": .number(fit.chosen.learningRate),
                "weight_decay": .number(recipe.weightDecay),
                "sensor_dropout": .number(split.dropout?.rate ?? 0),
                "candidates_searched": .number(Double(fit.candidates.count)),
                "seed": .number(Double(options.seed)),
            ],
            metrics: [
                "model": "int8", "holdout_accuracy": .number(evaluation.accuracy), "holdout_macro_f1": .number(evaluation.macroF1),
                "holdout_roc_auc": evaluation.rocAUC.map(JSONValue.number) ?? .null,
                "float": ["holdout_accuracy": .number(floatEvaluation.accuracy), "holdout_macro_f1": .number(floatEvaluation.macroF1),
                          "holdout_roc_auc": floatEvaluation.rocAUC.map(JSONValue.number) ?? .null],
                "int8_agreement": .number(agreement),
                "fault_mode_accuracy": modeAccuracy.map(JSONValue.number) ?? .null,
            ])
        let bundle = ModelBundle.encode(manifest: manifest, layers: Array(fit.shippedQuantized.joined()), signingKey: signingKey)
        let floatLayers = fit.shipped.map { member in
            member.layers.enumerated().map { index, layer in
                FloatNetwork.Layer(inputs: layer.inputs, outputs: layer.outputs, weights: layer.weights.map(Float.init),
                                   bias: layer.bias.map(Float.init), relu: index < member.layers.count - 1)
            }
        }
        return Result(bundle: bundle, manifest: manifest, floatLayers: floatLayers, holdout: evaluation, floatHoldout: floatEvaluation, int8Agreement: agreement,
                      faultModeAccuracy: modeAccuracy,
                      epochs: fit.epochs, candidates: fit.candidates,
                      counts: (train.count, validation.count, holdout.count), gate: gate,
                      modeClassesLeftToDiagnosis: modeClassesLeftToDiagnosis,
                      clockValidation: clockChoice.map { ($0.clock, $0.macroF1, $0.networks) }, diagnosisValidation: diagnosisChoice)
    }

    /// The last window a model refitted on every labelled window learned from (its lineage's
    /// time range); nil for a model trained on each device's past alone.
    public static func trainedUntil(_ manifest: ModelManifest) -> Double? {
        guard manifest.lineage["refit"] == .bool(true),
              case .array(let range)? = manifest.lineage["time_range"], case .number(let last)? = range.last else { return nil }
        return last
    }

    /// The epoch count at which a training's validation loss was lowest, where it kept its
    /// network: what a refit on every window trains for.
    static func bestEpoch(_ epochs: [Classifier.Epoch]) -> Int {
        epochs.min { $0.validationLoss < $1.validationLoss }?.number ?? 1
    }

    /// The networks one class layout gave (`run`'s `fitted(modes:)`).
    private struct Fitted {
        /// The windows and context of the networks kept.
        var split: TrainingSplit
        var modes: [String]
        var classes: [String]
        var failingClasses: [Int]
        /// The hold-out windows standardised, with their classes.
        var holdoutSet: [(x: [Double], y: Int)]
        /// The networks trained on the training split, which validation and hold-out measure.
        var members: [Classifier]
        /// The networks the bundle carries, float and int8 (`Recipe.refit`).
        var shipped: [Classifier]
        var shippedQuantized: [[QuantizedDense]]
        /// The first member's epochs, the search's candidates and the one chosen.
        var epochs: [Classifier.Epoch]
        var candidates: [Candidate]
        var chosen: Candidate
        /// The int8 networks' mean class probabilities of each validation and hold-out window.
        var validationProbabilities: [[Double]]
        var holdoutProbabilities: [[Double]]
        /// The shipped int8 networks' of each hold-out window, which they learned from with `refit`.
        var shippedHoldoutProbabilities: [[Double]]
    }

}
