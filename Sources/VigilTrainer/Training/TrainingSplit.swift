import VigilCore
import VigilInference
#if canImport(Glibc)
import Glibc
#endif

/// A device type's labelled windows under one input context, split by time, with what training
/// derives from the training split: the standardisation, the anomaly score and the sensor
/// dropout. A search makes one for each network clock it tries (`TrainingRun.Recipe.searchedClocks`).
struct TrainingSplit {
    let context: InputContext?
    let dataset: Dataset
    let train: [Dataset.Example]
    let validation: [Dataset.Example]
    let holdout: [Dataset.Example]
    /// Each validation window's device, by number: what a difference in validation loss's
    /// standard error takes as one draw.
    let validationDevices: [Int]
    let means: [Double]
    let scales: [Double]
    /// What bounds the standardised inputs (`TrainingRun.Recipe.squash`).
    let squash: ModelManifest.Squash
    /// How many raw inputs the network's derive from.
    let rawInputs: Int
    let anomaly: AnomalyScore?
    let dropout: SensorDropout?

    /// The windows of `source` for `profile` with `context`, whose raw `inputs` name their sensors.
    init(source: any DatasetSource, profile: DeviceProfile, context: InputContext?, inputs: [ModelManifest.Input], recipe: TrainingRun.Recipe,
         database: String) throws {
        var dataset = try source.dataset(profile: profile, rule: recipe.rule, context: context)
        // A window with a stuck sensor teaches nothing the agent will see: it takes such a
        // sensor's inputs at healthy, or abstains.
        dataset.examples.removeAll { !$0.stuckSensors.isEmpty }
        let (train, validation, holdout) = dataset.split()
        guard !train.isEmpty, Set(train.map(\.label)).count == LabelRule.classes.count else {
            throw TrainingError(database: database,
                problem: "not enough labelled windows to train: \(train.count) for training, classes seen \(Set(train.map(\.label)).sorted())")
        }
        let width = dataset.featureNames.count
        let deviceNumbers = Dictionary(uniqueKeysWithValues: Set(validation.map(\.device)).sorted().enumerated().map { ($1, $0) })
        var means = Array(repeating: 0.0, count: width), scales = Array(repeating: 0.0, count: width)
        for example in train { for i in 0..<width { means[i] += example.features[i] } }
        means = means.map { $0 / Double(train.count) }
        for example in train { for i in 0..<width { scales[i] += pow(example.features[i] - means[i], 2) } }
        scales = scales.map { max(($0 / Double(train.count)).squareRoot(), 1e-9) }
        // With a context, the anomaly score looks at the inputs relative to each device's baseline
        // and their trends (machines of one type differ in their absolute levels), not at growth;
        // each input with its trend.
        let raw = inputs.count
        let anomaly = AnomalyScore.fitted(train: train, validation: validation, in: dataset,
                                          inputs: context == nil ? 0..<raw : InputContext.relativeAndTrend(raw: raw), groups: raw)
        self.context = context
        self.dataset = dataset
        self.train = train
        self.validation = validation
        self.holdout = holdout
        validationDevices = validation.map { deviceNumbers[$0.device] ?? 0 }
        self.means = means
        self.scales = scales
        squash = recipe.squash
        rawInputs = raw
        self.anomaly = anomaly
        dropout = SensorDropout(inputs: inputs.map(\.sensor), context: context, means: means, scales: scales, squash: recipe.squash,
                                anomaly: anomaly, rate: recipe.sensorDropout)
    }

    /// How many values the network takes.
    var width: Int { dataset.featureNames.count }

    /// `examples` as the network takes them: standardised (`ModelManifest.standardised`) and
    /// bounded by `squash`, with the class index `label` gives each.
    func standardised(_ examples: [Dataset.Example], label: (Dataset.Example) -> Int) -> [(x: [Double], y: Int)] {
        examples.map { example in
            ((0..<width).map {
                ModelManifest.standardised(example.features[$0], input: $0, means: means, scales: scales, squash: squash,
                                           context: context, rawInputs: rawInputs)
            }, label(example))
        }
    }
}
