/// How unlike the fleet's healthy windows a window is, for faults nobody labelled: each network
/// input standardised by healthy windows' median and spread, quantized to int8 (+-8 spreads in
/// 127 steps, as the network's inputs are), and the mean of their squares taken in integers.
/// Reported as a level in [0, 1), `s / (1 + s)` of that mean square `s` (about 0.5 on a healthy
/// window), with its own alarm policy. The trainer fits it on windows known to be healthy, the
/// agent and `evaluate` score it with this one piece of code.
public struct AnomalyScore: Sendable, Equatable {
    /// Per network input, the healthy median and spread.
    public var centers: [Double]
    public var scales: [Double]
    /// When levels make an anomaly alarm.
    public var alarm: AlarmPolicy

    /// Spreads at int8's ends.
    static let range = 8.0

    public init(centers: [Double], scales: [Double], alarm: AlarmPolicy) {
        self.centers = centers
        self.scales = scales
        self.alarm = alarm
    }

    /// The level of one window's network inputs (raw values, before the network's standardisation).
    public func level(_ inputs: [Double]) -> Double {
        var sum: Int64 = 0
        for index in inputs.indices {
            let z = (inputs[index] - centers[index]) / scales[index] * 127 / Self.range
            let quantized = z.isNaN ? 127 : Int64(max(-127, min(127, z.rounded())))
            sum += quantized * quantized
        }
        let step = Self.range / 127
        let meanSquare = Double(sum) / Double(max(inputs.count, 1)) * step * step
        return meanSquare / (1 + meanSquare)
    }
}
