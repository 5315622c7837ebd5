/// A sliding count window: after each sample, a window over the last `size` samples is due
/// when at least `size` have arrived and `(i + 1 - size) % hop == 0` (i the sample's index).
/// Samples live in a linear buffer twice the window's size, moved down when full, so a window
/// is always one contiguous slice: amortised O(1) per sample, no copy per window.
///
/// A value type over memory its owner allocates and frees (`allocate()`, `deallocate()`), so the
/// per-sample path runs on local copies without reference counting or exclusivity checks.
struct CountWindow {
    let size: Int
    let hop: Int
    private let values: UnsafeMutablePointer<Double>
    private let timestamps: UnsafeMutablePointer<Double>
    private var end = 0
    /// Samples seen so far.
    private(set) var seen = 0
    /// Samples until the next window is due (a countdown, not a division per sample).
    private var untilDue: Int

    init(size: Int, hop: Int) {
        precondition(size >= 1 && hop >= 1)
        self.size = size
        self.hop = hop
        untilDue = size
        values = .allocate(capacity: 2 * size)
        timestamps = .allocate(capacity: 2 * size)
    }

    /// Frees the buffer; the window is unusable afterwards.
    func deallocate() {
        values.deallocate()
        timestamps.deallocate()
    }

    /// The sample the next `append` pushes out of the window, once the window is full.
    @inline(__always)
    var leaving: (timestamp: Double, value: Double)? {
        guard seen >= size else { return nil }
        return (timestamps[end - size], values[end - size])
    }

    /// Adds a sample; returns whether a window ends with it.
    @inline(__always)
    mutating func append(timestamp: Double, value: Double) -> Bool {
        if end == 2 * size {
            values.update(from: values + size, count: size)
            timestamps.update(from: timestamps + size, count: size)
            end = size
        }
        values[end] = value
        timestamps[end] = timestamp
        end += 1
        seen += 1
        untilDue -= 1
        guard untilDue == 0 else { return false }
        untilDue = hop
        return true
    }

    /// The current window's values and timestamps (the last `size` samples).
    var window: (values: UnsafeBufferPointer<Double>, timestamps: UnsafeBufferPointer<Double>) {
        let start = end - Swift.min(size, end)
        return (UnsafeBufferPointer(start: values + start, count: end - start),
                UnsafeBufferPointer(start: timestamps + start, count: end - start))
    }
}
