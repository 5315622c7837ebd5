/// How feature windows get their labels from maintenance events, as in a plant: a window that
/// ends within `horizon` seconds before a confirmed fault is "failing"; a window with a known
/// healthy future of at least `horizon` is "healthy"; a window too close to the end of the data
/// (its outcome unknown) is left out.
public struct LabelRule: Sendable, Equatable {
    public static let classes = ["healthy", "failing"]

    /// Seconds of device time before a failure in which a window counts as failing.
    public var horizon: Double

    public init(horizon: Double) {
        self.horizon = horizon
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
