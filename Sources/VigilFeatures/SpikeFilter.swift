/// Tells a value sensor's spikes from its readings, one reading late: a reading far off the
/// sensor's recent level, with the readings on both sides of it on that level, is a spike, while
/// two or more off in a row are a step to a new level and pass. Feature windows take what
/// passes, so a spiking sensor's windows describe its machine rather than its glitches; the
/// readings stay stored as they came.
public struct SpikeFilter: Sendable {
    /// The recent level and spread: moving averages, each updated with the reading's deviation
    /// held within the limit, so a spike barely moves them.
    private var mean = 0.0
    private var spread = 0.0
    private var readings = 0
    /// A reading off the level, held until the next says whether it was a spike, and whether
    /// the reading before it was off.
    private var held: (timestamp: Double, value: Double)?
    private var lastOff = false

    /// A reading this many spreads (and 1% of the level) off the level is off.
    static let spreads = 8.0
    /// Readings the level learns from before it judges.
    public static let warmUp = 20
    /// The weight of each judged reading in the level's moving averages.
    static let weight = 0.02

    public init() {}

    /// Takes the next reading: calls `pass` with the readings that go on, in time order (the one
    /// held before it unless this one is back on the level; this one unless it is the first off
    /// the level, which is held), and returns whether the held reading was a spike, left out.
    public mutating func next(timestamp: Double, value: Double, pass: (_ timestamp: Double, _ value: Double) -> Void) -> Bool {
        let off = judge(value)
        let spike = held != nil && !off
        if let reading = held, !spike { pass(reading.timestamp, reading.value) }
        held = off && !lastOff ? (timestamp, value) : nil
        if held == nil { pass(timestamp, value) }
        lastOff = off
        return spike
    }

    /// Whether `value` is off the level, learning from it either way.
    private mutating func judge(_ value: Double) -> Bool {
        guard readings > 0 else {
            mean = value
            readings = 1
            return false
        }
        let deviation = value - mean
        let limit = max(Self.spreads * spread, 0.01 * abs(mean))
        let judged = readings >= Self.warmUp
        readings += 1
        let heldDeviation = judged ? max(-limit, min(limit, deviation)) : deviation
        let weight = judged ? Self.weight : 1 / Double(readings)
        mean += weight * heldDeviation
        spread += weight * (abs(heldDeviation) - spread)
        return judged && abs(deviation) > limit
    }
}
