/// Tells a value sensor's spikes from its readings, a reading or two late: one or two readings in
/// a row far off the sensor's recent level, with the readings on both sides of them on that level,
/// are spikes, while three or more off in a row are a step to a new level and pass. Feature
/// windows take what passes, so a spiking sensor's windows describe its machine rather than its
/// glitches; the readings stay stored as they came.
public struct SpikeFilter: Sendable {
    /// The recent level and spread: moving averages of the readings that passed, each deviation
    /// held within the limit, so a step moves them gradually.
    private var mean = 0.0
    private var spread = 0.0
    private var readings = 0
    /// The first readings, kept until the level starts from them (`start`).
    private var first: [Double] = []
    /// Readings off the level, held until the next on it says they were spikes, or one more off
    /// says they are a step.
    private var held: [(timestamp: Double, value: Double)] = []
    /// Whether the sensor is in a step: off the level for longer than a spike lasts.
    private var stepping = false

    /// A reading this many spreads (and 1% of the level) off the level is off.
    static let spreads = 8.0
    /// The most readings in a row a spike lasts: two glitches in a row happen (one reading in
    /// 2,500 at one in fifty), three hardly.
    static let longestSpike = 2
    /// Readings the level learns from before it judges.
    public static let warmUp = 20
    /// The weight of each judged reading in the level's moving averages.
    static let weight = 0.02

    public init() {}

    /// Takes the next reading: calls `pass` with the readings that go on, in time order (those
    /// held before it once it shows them a step; this one unless it is off the level and may be a
    /// spike, which is held), and returns how many held readings it showed spikes, left out.
    /// The level learns from the readings that pass, never from a spike.
    public mutating func next(timestamp: Double, value: Double, pass: (_ timestamp: Double, _ value: Double) -> Void) -> Int {
        guard isOff(value) else {
            let spikes = held.count
            if spikes > 0 { held.removeAll(keepingCapacity: true) }
            stepping = false
            learn(value)
            pass(timestamp, value)
            return spikes
        }
        if stepping {
            learn(value)
            pass(timestamp, value)
            return 0
        }
        held.append((timestamp, value))
        if held.count > Self.longestSpike {
            for reading in held {
                learn(reading.value)
                pass(reading.timestamp, reading.value)
            }
            held.removeAll(keepingCapacity: true)
            stepping = true
        }
        return 0
    }

    /// How far off the level a reading may be: this many spreads, and at least 1% of the level.
    private var limit: Double { max(Self.spreads * spread, 0.01 * abs(mean)) }

    /// Whether `value` is off the level (never while the level is still learning).
    private func isOff(_ value: Double) -> Bool {
        readings >= Self.warmUp && abs(value - mean) > limit
    }

    /// Moves the level towards `value`, by its deviation held within the limit; the first
    /// `warmUp` readings start it (`start`).
    private mutating func learn(_ value: Double) {
        guard readings >= Self.warmUp else {
            first.append(value)
            readings += 1
            if readings == Self.warmUp { start() }
            return
        }
        let deviation = max(-limit, min(limit, value - mean))
        mean += Self.weight * deviation
        spread += Self.weight * (abs(deviation) - spread)
    }

    /// Starts the level at the first readings' median and their spread at their median
    /// deviation from it (times 1.18, a mean absolute deviation's ratio to it for normal noise),
    /// so a spike among them does not blind the filter as it would a mean.
    private mutating func start() {
        first.sort()
        mean = Self.median(first)
        spread = 1.18 * Self.median(first.map { abs($0 - mean) }.sorted())
        first = []
    }

    private static func median(_ sorted: [Double]) -> Double {
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
