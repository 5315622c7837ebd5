/// A sliding count window: after each sample, a window over the last `size` samples is due
/// when at least `size` have arrived and `(i + 1 - size) % hop == 0` (i the sample's index).
/// Samples live in a linear buffer twice the window's size, moved down when full, so a window
/// is always one contiguous slice: amortised O(1) per sample, no copy per window.
public struct CountWindow: Sendable {
    public let size: Int
    public let hop: Int
    private var values: [Double]
    private var timestamps: [Double]
    /// Samples seen so far.
    public private(set) var seen = 0

    public init(size: Int, hop: Int) {
        precondition(size >= 1 && hop >= 1)
        self.size = size
        self.hop = hop
        values = []
        timestamps = []
        values.reserveCapacity(2 * size)
        timestamps.reserveCapacity(2 * size)
    }

    /// Adds a sample; returns whether a window ends with it.
    @inline(__always)
    public mutating func append(timestamp: Double, value: Double) -> Bool {
        if values.count == 2 * size {
            values.removeFirst(size)
            timestamps.removeFirst(size)
        }
        values.append(value)
        timestamps.append(timestamp)
        seen += 1
        return seen >= size && (seen - size) % hop == 0
    }

    /// Calls `body` with the current window's values and timestamps.
    public func withWindow<R>(_ body: (UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>) -> R) -> R {
        let start = values.count - size
        return values.withUnsafeBufferPointer { values in
            timestamps.withUnsafeBufferPointer { timestamps in
                body(UnsafeBufferPointer(rebasing: values[start...]), UnsafeBufferPointer(rebasing: timestamps[start...]))
            }
        }
    }
}
