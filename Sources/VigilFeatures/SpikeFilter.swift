/// Tells a value sensor's spikes from its readings, a reading or two late (its very first
/// readings, until there are `fewest` to judge them by, a few more): one or two readings in
/// a row far off the sensor's recent level, with the readings on both sides of them on that level,
/// are spikes, while three or more off in a row are a step to a new level and pass. Feature
/// windows take what passes, so a spiking sensor's windows describe its machine rather than its
/// glitches; the readings stay stored as they came.
public struct SpikeFilter: Sendable {
    /// The recent level and spread: moving averages of the readings that passed, each deviation
    /// held within the limit, so a step moves them gradually; they start from the first readings.
    private var mean = 0.0
    private var spread = 0.0
    private var started = false
    /// The first readings that passed, until `warmUp` of them start the level.
    private var first: [Double] = []
    /// The very first readings, held until there are `fewest` of them to judge each other by.
    private var pending: [(timestamp: Double, value: Double)] = []
    /// Whether those have been judged: the readings after them go through `next` one by one.
    private var firstJudged = false
    /// Readings off the level, held until the next on it says they were spikes, or one more off
    /// says they are a step.
    private var held: [(timestamp: Double, value: Double)] = []
    /// Whether the sensor is in a step: off the level for longer than a spike lasts.
    private var stepping = false

    /// A reading this many spreads (and 1% of the level) off the level is off; before the level
    /// starts, three times as many of the first readings' (few readings' median deviation can
    /// come out small by chance).
    static let spreads = 8.0
    static let firstSpreads = 24.0
    /// The most readings in a row a spike lasts: two glitches in a row happen (one reading in
    /// 2,500 at one in fifty), three hardly.
    static let longestSpike = 2
    /// Readings the level starts from: until then the first readings' median and median
    /// deviation judge (a spike among them does not move a median as it would a mean). The
    /// `fewest` first are held until they can judge each other that way, so a spike among them
    /// reaches no window: it would sit in the baseline a model measures the machine against.
    public static let warmUp = 20
    public static let fewest = 8
    /// The weight of each judged reading in the level's moving averages.
    static let weight = 0.02

    public init() {}

    /// Takes the next reading: calls `pass` with the readings that go on, in time order (those
    /// held before it once it shows them a step; this one unless it is off the level and may be a
    /// spike, which is held), and returns how many held readings it showed spikes, left out.
    /// The level learns from the readings that pass, never from a spike.
    public mutating func next(timestamp: Double, value: Double, pass: (_ timestamp: Double, _ value: Double) -> Void) -> Int {
        guard firstJudged else { return judgeFirst(timestamp: timestamp, value: value, pass: pass) }
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

    /// Holds the very first readings until there are `fewest`, then judges them by their median
    /// as the filter judges later ones by the level: runs off it no longer than a spike lasts are
    /// spikes, longer ones a step (the readings after it pass while they stay off, as in `next`),
    /// and a short run still off at the end is held for the next readings to tell. Returns how many
    /// it left out as spikes.
    private mutating func judgeFirst(timestamp: Double, value: Double, pass: (_ timestamp: Double, _ value: Double) -> Void) -> Int {
        pending.append((timestamp, value))
        guard pending.count == Self.fewest else { return 0 }
        let (level, spread) = Self.level(of: pending.map(\.value))
        let off = pending.map { abs($0.value - level) > Self.limit(level, spread, spreads: Self.firstSpreads) }
        var spikes = 0
        var start = 0
        while start < pending.count {
            // The run of readings from `start` alike in being off the median or on it.
            var end = start
            while end + 1 < pending.count, off[end + 1] == off[start] { end += 1 }
            let run = pending[start...end]
            if !off[start] || run.count > Self.longestSpike {
                for reading in run {
                    learn(reading.value)
                    pass(reading.timestamp, reading.value)
                }
                stepping = off[start]
            } else if end == pending.count - 1 {
                held = Array(run)
            } else {
                spikes += run.count
            }
            start = end + 1
        }
        pending = []
        firstJudged = true
        return spikes
    }

    /// How far off `level` a reading may be: `spreads` times `spread`, and at least 1% of the level.
    private static func limit(_ level: Double, _ spread: Double, spreads: Double = Self.spreads) -> Double {
        max(spreads * spread, 0.01 * abs(level))
    }

    /// Whether `value` is off the level (or, before it starts, off the first readings' median).
    private func isOff(_ value: Double) -> Bool {
        if started { return abs(value - mean) > Self.limit(mean, spread) }
        let (level, spread) = Self.level(of: first)
        return abs(value - level) > Self.limit(level, spread, spreads: Self.firstSpreads)
    }

    /// Moves the level towards `value`, by its deviation held within the limit; the first
    /// `warmUp` readings start it.
    private mutating func learn(_ value: Double) {
        guard started else {
            first.append(value)
            if first.count == Self.warmUp {
                (mean, spread) = Self.level(of: first)
                first = []
                started = true
            }
            return
        }
        let limit = Self.limit(mean, spread)
        let deviation = max(-limit, min(limit, value - mean))
        mean += Self.weight * deviation
        spread += Self.weight * (abs(deviation) - spread)
    }

    /// The median of `readings` and their median deviation from it, times 1.18 (a mean absolute
    /// deviation's ratio to it for normal noise, what the moving spread measures); their mean
    /// deviation when most of them are equal (a coarsely quantized sensor, or one between two
    /// states), where the median deviation is 0 and would call every other value off.
    private static func level(of readings: [Double]) -> (level: Double, spread: Double) {
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted(), middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }
        let level = median(readings)
        let deviations = readings.map { abs($0 - level) }
        let spread = 1.18 * median(deviations)
        return (level, spread > 0 ? spread : deviations.reduce(0, +) / Double(deviations.count))
    }
}
