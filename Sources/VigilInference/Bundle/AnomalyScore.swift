/// How unlike the fleet's healthy windows a window is, for faults nobody labelled: each network
/// input from `firstInput` on (with a context, the ones relative to the device's baseline and
/// their trends: machines differ in their absolute levels) standardised by healthy windows'
/// median and spread, quantized to int8 (+-8 spreads in 127 steps, as the network's inputs are),
/// and squared in integers. Inputs are judged in groups (with a context, an input and its trend):
/// each group's mean square in units of its `norms` entry, what healthy windows of that group
/// reach, and the window's level is the largest of them, as `s / (1 + s)`, with its own alarm
/// policy. One input that leaves healthy alone (a pump's flow as its impeller wears) then alarms
/// without waiting for the rest of the window to follow. The trainer fits it on windows known to
/// be healthy, the agent and `evaluate` score it with this one piece of code.
public struct AnomalyScore: Sendable, Equatable {
    /// The first network input the score looks at.
    public var firstInput: Int
    /// Per network input from `firstInput` on, the healthy median and spread.
    public var centers: [Double]
    public var scales: [Double]
    /// Per input from `firstInput` on, the group it is judged in, and per group the mean square
    /// its healthy windows reach. Bundles from before groups have one, of norm 1: the mean square
    /// of every input.
    public var groups: [Int]
    public var norms: [Double]
    /// When levels make an anomaly alarm.
    public var alarm: AlarmPolicy

    /// Spreads at int8's ends.
    static let range = 8.0

    public init(firstInput: Int = 0, centers: [Double], scales: [Double], groups: [Int]? = nil, norms: [Double] = [1], alarm: AlarmPolicy) {
        self.firstInput = firstInput
        self.centers = centers
        self.scales = scales
        self.groups = groups ?? Array(repeating: 0, count: centers.count)
        self.norms = norms
        self.alarm = alarm
    }

    /// Whether inputs are judged in groups (or all together, as bundles before groups were).
    public var isGrouped: Bool { norms != [1] }

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

    /// Each group's mean square of one window's network inputs (raw values, before the network's
    /// standardisation), in units of its norm, leaving out the inputs marked in `leftOut` (by
    /// input from `firstInput` on; a group left without inputs is 0).
    public func groupMeanSquares(_ inputs: [Double], leavingOut leftOut: [Bool] = []) -> [Double] {
        var sums = [Int64](repeating: 0, count: norms.count), counts = [Int](repeating: 0, count: norms.count)
        for index in centers.indices where leftOut.isEmpty || !leftOut[index] {
            let z = (inputs[firstInput + index] - centers[index]) / scales[index] * 127 / Self.range
            let quantized = z.isNaN ? 127 : Int64(max(-127, min(127, z.rounded())))
            sums[groups[index]] += quantized * quantized
            counts[groups[index]] += 1
        }
        let step = Self.range / 127
        return norms.indices.map { group in
            counts[group] == 0 ? 0 : Double(sums[group]) / Double(counts[group]) * step * step / norms[group]
        }
    }

    /// The level of one window's network inputs (raw values, before the network's
    /// standardisation): its largest group mean square `s` as `s / (1 + s)`, leaving out the
    /// inputs marked in `leftOut`.
    public func level(_ inputs: [Double], leavingOut leftOut: [Bool] = []) -> Double {
        let largest = groupMeanSquares(inputs, leavingOut: leftOut).max() ?? 0
        return largest / (1 + largest)
    }
}
