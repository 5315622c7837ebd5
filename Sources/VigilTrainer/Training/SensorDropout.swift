import VigilCore
import VigilInference

/// Training windows shown now and then with one sensor's inputs put at healthy, as the agent
/// scores a window whose sensor is stuck or drifting (`ModelBundle.atHealthy`): the network then
/// learns to call trouble from the other sensors too, instead of going blind with the one it
/// leans on most.
public struct SensorDropout: Sendable {
    /// Per sensor, the standardised network inputs it moves.
    public var sensors: [[Int]]
    /// Every standardised network input's healthy value.
    public var healthy: [Double]
    /// The share of training windows shown with a sensor put at healthy.
    public var rate: Double

    /// The dropout for a network of `inputs` (per raw input, its sensor) with `context`, its
    /// standardisation (`means`, `scales`, `squash`) and `anomaly` score; nil when the healthy
    /// inputs are not known (`InputContext.healthyInputs`), or there is one sensor only.
    public init?(inputs: [String], context: InputContext?, means: [Double], scales: [Double], squash: ModelManifest.Squash,
                 anomaly: AnomalyScore?, rate: Double) {
        let raw = inputs.count
        guard rate > 0, let context, let anomaly, let values = context.healthyInputs(means: means.prefix(raw), anomaly: anomaly) else { return nil }
        let sensorNames = inputs.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        guard sensorNames.count > 1 else { return nil }
        sensors = sensorNames.map { sensor in
            inputs.indices.filter { inputs[$0] == sensor }.flatMap { context.positions(of: $0, raw: raw) }
        }
        healthy = values.indices.map {
            ModelManifest.standardised(values[$0], input: $0, means: means, scales: scales, squash: squash, context: context, rawInputs: raw)
        }
        self.rate = rate
    }

    /// `x`, or with probability `rate` a copy with one sensor, drawn at random, at healthy.
    public func apply(_ x: [Double], random: inout SeededRandom) -> [Double] {
        guard random.uniform() < rate else { return x }
        var dropped = x
        for at in sensors[Int(random.next() % UInt64(sensors.count))] { dropped[at] = healthy[at] }
        return dropped
    }
}
