#if canImport(Glibc)
import Glibc
#endif

/// Event-time hopping windows of `seconds`, every `hopSeconds`, aligned to multiples of the hop
/// since the epoch: the window `[k*hop - seconds, k*hop)` closes when the first sample at or
/// after `k*hop` arrives, holds every earlier sample in its range, and is skipped when empty;
/// one sample can close several windows. A sample older than the end of a window already closed
/// is late: dropped and counted, never folded silently into a later window.
///
/// When the window is a whole number of hops and no feature needs the raw samples, each hop's
/// samples are summarised as they arrive (power sums, min, max) and a window merges its hops:
/// memory is a few hops' summaries however many samples a window holds. Otherwise the samples
/// of the last `seconds` are kept.
public struct TimeWindow: Sendable {
    /// A closed window's bounds.
    public struct Bounds: Sendable, Equatable {
        public var start: Double
        public var end: Double
    }

    /// One hop's summary: samples in `[key * hop, (key + 1) * hop)`.
    private struct Bucket {
        var key: Int64
        var sums = PowerSums()
        var min = Double.infinity
        var max = -Double.infinity
    }

    public let seconds: Double
    public let hopSeconds: Double
    /// Whether raw samples are kept (else hop summaries).
    public let keepsSamples: Bool
    private let hopsPerWindow: Int64
    private var values: [Double] = []
    private var timestamps: [Double] = []
    private var windowValues: [Double] = []
    private var windowTimestamps: [Double] = []
    private var buckets: [Bucket] = []
    private var nextEnd: Double?
    private var closedUntil = -Double.infinity
    /// Samples dropped because their window had already closed.
    public private(set) var late = 0

    /// Windows of `seconds` every `hopSeconds`; `needsSamples` when a feature reads the raw
    /// samples (the zero-crossing rate).
    public init(seconds: Double, hopSeconds: Double, needsSamples: Bool = true) {
        precondition(seconds > 0 && hopSeconds > 0)
        self.seconds = seconds
        self.hopSeconds = hopSeconds
        let hops = (seconds / hopSeconds).rounded()
        hopsPerWindow = Int64(hops)
        keepsSamples = needsSamples || abs(hops * hopSeconds - seconds) > 1e-9 * seconds || hops < 1
    }

    /// Adds a sample, first closing every window that ends at or before it and calling `emit`
    /// with each non-empty one: with its statistics when summarised (and no samples), or with
    /// its samples (and no statistics).
    public mutating func append(timestamp: Double, value: Double,
                                emit: (Bounds, WindowStatistics?, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>) -> Void) {
        guard timestamp >= closedUntil else {
            late += 1
            return
        }
        if nextEnd == nil { nextEnd = (timestamp / hopSeconds).rounded(.down) * hopSeconds + hopSeconds }
        while let end = nextEnd, timestamp >= end {
            close(end: end, emit: emit)
            closedUntil = end
            nextEnd = end + hopSeconds
            // After a long gap with nothing held, skip straight to the window that holds this sample.
            if let next = nextEnd, timestamp - next > seconds + hopSeconds, values.isEmpty, buckets.isEmpty {
                nextEnd = (timestamp / hopSeconds).rounded(.down) * hopSeconds + hopSeconds
                closedUntil = (nextEnd ?? 0) - hopSeconds
            }
        }
        if keepsSamples {
            values.append(value)
            timestamps.append(timestamp)
        } else {
            let key = Int64((timestamp / hopSeconds).rounded(.down))
            let index = buckets.lastIndex { $0.key == key } ?? {
                buckets.append(Bucket(key: key))
                buckets.sort { $0.key < $1.key }
                return buckets.firstIndex { $0.key == key }!
            }()
            buckets[index].sums.add(timestamp: timestamp, value: value)
            buckets[index].min = Swift.min(buckets[index].min, value)
            buckets[index].max = Swift.max(buckets[index].max, value)
        }
    }

    private mutating func close(end: Double, emit: (Bounds, WindowStatistics?, UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>) -> Void) {
        let start = end - seconds
        let bounds = Bounds(start: start, end: end)
        let keepFrom = end + hopSeconds - seconds
        if keepsSamples {
            windowValues.removeAll(keepingCapacity: true)
            windowTimestamps.removeAll(keepingCapacity: true)
            for index in values.indices where timestamps[index] >= start && timestamps[index] < end {
                windowValues.append(values[index])
                windowTimestamps.append(timestamps[index])
            }
            if !windowValues.isEmpty {
                windowValues.withUnsafeBufferPointer { values in
                    windowTimestamps.withUnsafeBufferPointer { timestamps in emit(bounds, nil, values, timestamps) }
                }
            }
            // Keep only what a later window can still hold.
            var kept = 0
            for index in values.indices where timestamps[index] >= keepFrom {
                values[kept] = values[index]
                timestamps[kept] = timestamps[index]
                kept += 1
            }
            values.removeLast(values.count - kept)
            timestamps.removeLast(timestamps.count - kept)
        } else {
            let endKey = Int64((end / hopSeconds).rounded())
            var sums = PowerSums()
            var low = Double.infinity, high = -Double.infinity
            for bucket in buckets where bucket.key >= endKey - hopsPerWindow && bucket.key < endKey {
                sums.merge(bucket.sums)
                low = Swift.min(low, bucket.min)
                high = Swift.max(high, bucket.max)
            }
            if sums.count > 0 {
                emit(bounds, sums.statistics(min: low, max: high), UnsafeBufferPointer(start: nil, count: 0),
                     UnsafeBufferPointer(start: nil, count: 0))
            }
            buckets.removeAll { $0.key < endKey + 1 - hopsPerWindow }
        }
    }
}
