/// How feature windows get their labels from maintenance events, as in a plant: a window that
/// ends within `horizon` seconds before a confirmed fault is "failing"; a window with a known
/// healthy future of at least `horizon` is "healthy"; a window too close to the end of the data
/// (its outcome unknown) is left out. With an `earlyHorizon`, a healthy window that ends within
/// it before a confirmed fault is also "soon" (failing within, say, two weeks: time to plan).
public struct LabelRule: Sendable, Equatable {
    public static let classes = ["healthy", "failing"]
    /// The class of windows failing within the early horizon but not the horizon.
    public static let soon = "soon"

    /// Seconds of device time before a failure in which a window counts as failing.
    public var horizon: Double
    /// Seconds before a failure in which a healthy window counts as soon; nil: no such class.
    public var earlyHorizon: Double?

    public init(horizon: Double, earlyHorizon: Double? = nil) {
        self.horizon = horizon
        self.earlyHorizon = earlyHorizon
    }

    /// Whether a healthy window ending at `end` precedes one of `faults` within the early horizon.
    public func isSoon(windowEnd end: Double, faults: [Double]) -> Bool {
        guard let earlyHorizon, let next = faults.first(where: { $0 >= end }) else { return false }
        return next - end > horizon && next - end <= earlyHorizon
    }

    /// The label of a window ending at `end` on a device whose fault times are `faults` and
    /// whose data ends at `dataEnd`: 0 healthy, 1 failing, nil unknown.
    public func label(windowEnd end: Double, faults: [Double], dataEnd: Double) -> Int? {
        if let next = faults.first(where: { $0 >= end }) {
            return next - end <= horizon ? 1 : 0
        }
        return dataEnd - end >= horizon ? 0 : nil
    }
}
