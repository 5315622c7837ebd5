/// The statistics of a sliding count window in O(1) amortised per sample: power sums of the
/// samples' deviations from a reference value (and of times from a reference time), updated as
/// samples enter and leave; monotonic queues for min and max; and a full recompute every `size`
/// samples with a fresh reference, so rounding cannot accumulate. Deviations from a nearby
/// reference keep values near 1e6 with noise of 1e-3 exact, where plain sums of x and x^2 lose
/// every digit. Only the zero-crossing rate, which depends on the window's own mean, costs a
/// pass over the window when asked for.
///
/// Windows that overlap by half or less (`hop * 2 >= size`, as a block sensor's usually do) are
/// cheaper summed afresh when due: each sample is summed at most twice, where sliding would add
/// it, take it away again, and rebase as well.
struct SlidingStatistics {
    let size: Int
    /// Whether the sums follow every sample; if not, they are computed when a window is due.
    let slides: Bool
    /// Whether min and max are kept in monotonic queues (O(1) per sample) rather than found by
    /// a scan of each emitted window (O(size / hop) per sample, but branch-free and cheaper
    /// when windows are emitted rarely).
    let tracksExtremes: Bool
    private var sums: PowerSums
    private var sinceRebase = 0
    /// The window's min and max, found by the last rebase (when sums do not slide, every window
    /// is rebased, and one pass finds them with the sums).
    private var rebasedExtremes = (min: 0.0, max: 0.0)
    private var maxima: MonotonicQueue
    private var minima: MonotonicQueue

    /// Sums for windows of `size` every `hop` samples; `timed` keeps the time sums the slope needs.
    init(size: Int, hop: Int, timed: Bool) {
        self.size = size
        sums = PowerSums(timed: timed)
        slides = hop * 2 < size
        tracksExtremes = hop * 16 < size
        // Queues that are never used take no memory worth the name.
        maxima = MonotonicQueue(capacity: tracksExtremes ? size : 0, keepsLargest: true)
        minima = MonotonicQueue(capacity: tracksExtremes ? size : 0, keepsLargest: false)
    }

    /// Frees the queues' memory.
    func deallocate() {
        maxima.deallocate()
        minima.deallocate()
    }

    /// Adds the sample numbered `index` to sums that slide; `leaving` is the sample that drops
    /// out of the window, if one does.
    @inline(__always)
    mutating func add(index: Int, timestamp: Double, value: Double, leaving: (timestamp: Double, value: Double)?) {
        if let leaving {
            sums.replace(leaving, with: timestamp, value)
        } else {
            sums.add(timestamp: timestamp, value: value)
        }
        if tracksExtremes {
            maxima.push(index: index, value: value, windowStart: index - size + 1)
            minima.push(index: index, value: value, windowStart: index - size + 1)
        }
        sinceRebase += 1
    }

    /// Whether the sums are due for an exact recompute (always, for sums that do not slide).
    var needsRebase: Bool { !slides || sinceRebase >= size }

    /// Recomputes the sums from the full window, around its newest sample and oldest time.
    mutating func rebase(values: UnsafeBufferPointer<Double>, timestamps: UnsafeBufferPointer<Double>) {
        sums = PowerSums(referenceValue: values[values.count - 1], referenceTime: timestamps[0], timed: sums.timed)
        var low = values[0], high = values[0]
        for index in 0..<values.count {
            let value = values[index]
            sums.add(timestamp: timestamps[index], value: value)
            low = value < low ? value : low
            high = value > high ? value : high
        }
        rebasedExtremes = (low, high)
        sinceRebase = 0
    }

    /// The window's statistics; `values` is read for min and max when not tracked, and for the
    /// zero-crossing rate when asked.
    func statistics(values: UnsafeBufferPointer<Double>, zeroCrossings: Bool) -> WindowStatistics {
        let (low, high) = tracksExtremes ? (minima.front, maxima.front) : slides ? WindowStatistics.extremes(values) : rebasedExtremes
        var result = sums.statistics(min: low, max: high)
        if zeroCrossings { result.zeroCrossingRate = WindowStatistics.zeroCrossingRate(values, mean: result.mean) }
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
