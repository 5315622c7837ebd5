#if canImport(Glibc)
import Glibc
#endif

/// Event-time hopping windows of `seconds`, every `hopSeconds`, aligned to multiples of the hop
/// since the epoch: the window `[k*hop - seconds, k*hop)` closes when the first sample at or
/// after `k*hop` arrives, holds every earlier sample in its range, and is skipped when empty;
/// one sample can close several windows. A sample older than the end of a window already closed
/// is late: dropped and counted, never folded silently into a later window.
public struct TimeWindow: Sendable {
    /// A closed window's bounds.
    public struct Bounds: Sendable, Equatable {
        public var start: Double
        public var end: Double
    }

    public let seconds: Double
    public let hopSeconds: Double
    private var values: [Double] = []
    private var timestamps: [Double] = []
    private var windowValues: [Double] = []
    private var windowTimestamps: [Double] = []
    private var nextEnd: Double?
    private var closedUntil = -Double.infinity
    /// Samples dropped because their window had already closed.
    public private(set) var late = 0

    public init(seconds: Double, hopSeconds: Double) {
        precondition(seconds > 0 && hopSeconds > 0)
        self.seconds = seconds
        self.hopSeconds = hopSeconds
    }

    /// Adds a sample, first closing every window that ends at or before it and calling `emit`
    /// with each non-empty one.
    public mutating func append(timestamp: Double, value: Double,
                                emit: (Bounds, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>) -> Void) {
        guard timestamp >= closedUntil else {
            late += 1
            return
        }
        if nextEnd == nil { nextEnd = (timestamp / hopSeconds).rounded(.down) * hopSeconds + hopSeconds }
        while let end = nextEnd, timestamp >= end {
            let start = end - seconds
            windowValues.removeAll(keepingCapacity: true)
            windowTimestamps.removeAll(keepingCapacity: true)
            for index in values.indices where timestamps[index] >= start && timestamps[index] < end {
                windowValues.append(values[index])
                windowTimestamps.append(timestamps[index])
            }
            if !windowValues.isEmpty {
                windowValues.withUnsafeBufferPointer { values in
                    windowTimestamps.withUnsafeBufferPointer { timestamps in
                        emit(Bounds(start: start, end: end), values, timestamps)
                    }
                }
            }
            closedUntil = end
            nextEnd = end + hopSeconds
            // Keep only what a later window can still hold.
            let keepFrom = end + hopSeconds - seconds
            var kept = 0
            for index in values.indices where timestamps[index] >= keepFrom {
                values[kept] = values[index]
                timestamps[kept] = timestamps[index]
                kept += 1
            }
            values.removeLast(values.count - kept)
            timestamps.removeLast(timestamps.count - kept)
            // After a long gap, skip straight to the window that holds this sample.
            if let next = nextEnd, timestamp - next > seconds + hopSeconds, values.isEmpty {
                nextEnd = (timestamp / hopSeconds).rounded(.down) * hopSeconds + hopSeconds
                closedUntil = (nextEnd ?? 0) - hopSeconds
            }
        }
        values.append(value)
        timestamps.append(timestamp)
    }
}
