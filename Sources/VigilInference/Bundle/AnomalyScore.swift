/// How unlike the fleet's healthy windows a window is, for faults nobody labelled: each network
/// input from `firstInput` on (with a context, the ones relative to the device's baseline and
/// their trends: machines differ in their absolute levels) standardised by healthy windows'
/// median and spread, quantized to int8 (+-8 spreads in
/// 127 steps, as the network's inputs are), and the mean of their squares taken in integers.
/// Reported as a level in [0, 1), `s / (1 + s)` of that mean square `s` (about 0.5 on a healthy
/// window), with its own alarm policy. The trainer fits it on windows known to be healthy, the
/// agent and `evaluate` score it with this one piece of code.
public struct AnomalyScore: Sendable, Equatable {
    /// The first network input the score looks at.
    public var firstInput: Int
    /// Per network input from `firstInput` on, the healthy median and spread.
    public var centers: [Double]
    public var scales: [Double]
    /// When levels make an anomaly alarm.
    public var alarm: AlarmPolicy

    /// Spreads at int8's ends.
    static let range = 8.0

    public init(firstInput: Int = 0, centers: [Double], scales: [Double], alarm: AlarmPolicy) {
        self.firstInput = firstInput
        self.centers = centers
        self.scales = scales
        self.alarm = alarm
    }

    /// The `count` network inputs (indices) of one window furthest from healthy, furthest first:
    /// what an alarm is about (one sensor alone off may be the sensor's fault).
    public func furthest(_ inputs: [Double], count: Int) -> [Int] {
        let distances = centers.indices.map { index in
            let z = abs(inputs[firstInput + index] - centers[index]) / scales[index]
            return z.isNaN ? Double.infinity : z
        }
        return distances.indices.sorted { distances[$0] > distances[$1] }.prefix(count).map { firstInput + $0 }
    }

    /// How far each input from `firstInput` on is from healthy, in healthy spreads, clipped at
    /// the score's range; an input that is not a number has not moved.
    public func departure(_ inputs: [Double]) -> [Double] {
        centers.indices.map { index in
            let z = (inputs[firstInput + index] - centers[index]) / scales[index]
            return z.isNaN ? 0 : max(-Self.range, min(Self.range, z))
        }
    }

    /// The level of one window's network inputs (raw values, before the network's standardisation).
    public func level(_ inputs: [Double]) -> Double {
        var sum: Int64 = 0
        for index in centers.indices {
            let z = (inputs[firstInput + index] - centers[index]) / scales[index] * 127 / Self.range
            let quantized = z.isNaN ? 127 : Int64(max(-127, min(127, z.rounded())))
            sum += quantized * quantized
        }
        let step = Self.range / 127
        let meanSquare = Double(sum) / Double(max(centers.count, 1)) * step * step
        return meanSquare / (1 + meanSquare)
    }
}
