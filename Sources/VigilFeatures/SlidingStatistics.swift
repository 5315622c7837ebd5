/// The statistics of a sliding count window in O(1) amortised per sample: power sums of the
/// samples' deviations from a reference value (and of times from a reference time), updated as
/// samples enter and leave; monotonic queues for min and max; and a full recompute every `size`
/// samples with a fresh reference, so rounding cannot accumulate. Deviations from a nearby
/// reference keep values near 1e6 with noise of 1e-3 exact, where plain sums of x and x^2 lose
/// every digit. Only the zero-crossing rate, which depends on the window's own mean, costs a
/// pass over the window when asked for.
struct SlidingStatistics {
    let size: Int
    /// Whether min and max are kept in monotonic queues (O(1) per sample) rather than found by
    /// a scan of each emitted window (O(size / hop) per sample, but branch-free and cheaper
    /// when windows are emitted rarely).
    let tracksExtremes: Bool
    private var referenceValue = 0.0
    private var referenceTime = 0.0
    private var s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0
    private var su = 0.0, suu = 0.0, suy = 0.0
    private var sinceRebase = 0
    private var maxima: MonotonicQueue
    private var minima: MonotonicQueue

    init(size: Int, hop: Int) {
        self.size = size
        tracksExtremes = hop * 16 < size
        maxima = MonotonicQueue(capacity: size, keepsLargest: true)
        minima = MonotonicQueue(capacity: size, keepsLargest: false)
    }

    /// Frees the queues' memory.
    func deallocate() {
        maxima.deallocate()
        minima.deallocate()
    }

    /// Adds the sample numbered `index`; `leaving` is the sample that drops out of the window,
    /// if one does.
    @inline(__always)
    mutating func add(index: Int, timestamp: Double, value: Double, leaving: (timestamp: Double, value: Double)?) {
        if index == 0 {
            referenceValue = value
            referenceTime = timestamp
        }
        let y = value - referenceValue, u = timestamp - referenceTime, y2 = y * y
        if let leaving {
            // One update per sum for the sample that enters and the one that leaves.
            let yl = leaving.value - referenceValue, ul = leaving.timestamp - referenceTime, yl2 = yl * yl
            s1 += y - yl
            s2 += y2 - yl2
            s3 += y2 * y - yl2 * yl
            s4 += y2 * y2 - yl2 * yl2
            su += u - ul
            suu += u * u - ul * ul
            suy += u * y - ul * yl
        } else {
            accumulate(timestamp, value, sign: 1)
        }
        if tracksExtremes {
            maxima.push(index: index, value: value, windowStart: index - size + 1)
            minima.push(index: index, value: value, windowStart: index - size + 1)
        }
        sinceRebase += 1
    }

    @inline(__always)
    private mutating func accumulate(_ timestamp: Double, _ value: Double, sign: Double) {
        let y = value - referenceValue
        let u = timestamp - referenceTime
        let y2 = y * y
        s1 += sign * y
        s2 += sign * y2
        s3 += sign * y2 * y
        s4 += sign * y2 * y2
        su += sign * u
        suu += sign * u * u
        suy += sign * u * y
    }

    /// Whether the sums are due for an exact recompute.
    var needsRebase: Bool { sinceRebase >= size }

    /// Recomputes the sums from the full window, around its newest sample and oldest time.
    mutating func rebase(values: UnsafeBufferPointer<Double>, timestamps: UnsafeBufferPointer<Double>) {
        referenceValue = values[values.count - 1]
        referenceTime = timestamps[0]
        s1 = 0; s2 = 0; s3 = 0; s4 = 0; su = 0; suu = 0; suy = 0
        for index in 0..<values.count { accumulate(timestamps[index], values[index], sign: 1) }
        sinceRebase = 0
    }

    /// The window's statistics; `values` is read only for the zero-crossing rate.
    func statistics(values: UnsafeBufferPointer<Double>, zeroCrossings: Bool) -> WindowStatistics {
        var result = WindowStatistics()
        let n = Double(size)
        result.count = size
        if tracksExtremes {
            result.min = minima.front
            result.max = maxima.front
        } else {
            var low = values[0], high = values[0]
            for value in values {
                low = Swift.min(low, value)
                high = Swift.max(high, value)
            }
            result.min = low
            result.max = high
        }
        let d = s1 / n
        let mean = referenceValue + d
        result.mean = mean
        result.peak = Swift.max(abs(result.min), abs(result.max))
        // A window whose min equals its max has no spread, whatever rounding left in the sums.
        let constant = result.min == result.max
        let e2 = s2 / n, e3 = s3 / n, e4 = s4 / n
        let m2 = constant ? 0 : Swift.max(0, e2 - d * d)
        let m3 = constant ? 0 : e3 - 3 * d * e2 + 2 * d * d * d
        let m4 = constant ? 0 : e4 - 4 * d * e3 + 6 * d * d * e2 - 3 * d * d * d * d
        result.std = m2.squareRoot()
        result.rms = (mean * mean + m2).squareRoot()
        result.crestFactor = result.rms == 0 ? 0 : result.peak / result.rms
        result.skewness = m2 == 0 ? 0 : m3 / (m2 * m2.squareRoot())
        result.kurtosis = m2 == 0 ? 0 : m4 / (m2 * m2) - 3
        let sxx = suu - su * su / n
        result.slope = size < 2 || sxx <= 0 || constant ? 0 : (suy - su * s1 / n) / sxx
        if zeroCrossings && size >= 2 {
            // Branch-free: a crossing is a sign opposite to the last non-zero sign.
            var crossings = 0
            var previous = 0.0
            for value in values {
                let deviation = value - mean
                let sign: Double = deviation > 0 ? 1 : deviation < 0 ? -1 : 0
                crossings &+= sign * previous < 0 ? 1 : 0
                previous = sign == 0 ? previous : sign
            }
            result.zeroCrossingRate = Double(crossings) / Double(size - 1)
        }
        return result
    }
}

/// The running maximum (or minimum) of a sliding window: a queue of candidates, each larger
/// than every later one, so the front is the answer and each sample enters and leaves once.
struct MonotonicQueue {
    private let indices: UnsafeMutablePointer<Int>
    private let values: UnsafeMutablePointer<Double>
    private let capacity: Int
    private var head = 0
    private var count = 0
    private let keepsLargest: Bool

    init(capacity: Int, keepsLargest: Bool) {
        self.capacity = capacity + 1
        indices = .allocate(capacity: capacity + 1)
        values = .allocate(capacity: capacity + 1)
        self.keepsLargest = keepsLargest
    }

    func deallocate() {
        indices.deallocate()
        values.deallocate()
    }

    var front: Double { values[head] }

    @inline(__always)
    mutating func push(index: Int, value: Double, windowStart: Int) {
        // Drop candidates the new value dominates, from the back.
        while count > 0 {
            var back = head + count - 1
            if back >= capacity { back -= capacity }
            guard keepsLargest ? values[back] <= value : values[back] >= value else { break }
            count -= 1
        }
        var slot = head + count
        if slot >= capacity { slot -= capacity }
        indices[slot] = index
        values[slot] = value
        count += 1
        // Drop the front if it has left the window.
        while indices[head] < windowStart {
            head += 1
            if head == capacity { head = 0 }
            count -= 1
        }
    }
}
