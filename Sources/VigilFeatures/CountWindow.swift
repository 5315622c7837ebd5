/// A sliding count window: after each sample, a window over the last `size` samples is due
/// when at least `size` have arrived and `(i + 1 - size) % hop == 0` (i the sample's index).
/// Samples live in a linear buffer twice the window's size, moved down when full, so a window
/// is always one contiguous slice: amortised O(1) per sample, no copy per window. Windows that
/// do not overlap (`hop` a multiple of `size`, as a block sensor's usually are) need only
/// `size` samples: the buffer starts over after each, and a window due is always all of it.
///
/// Such a window can also give its buffer back between windows (`release`), and a block that
/// holds a whole window need not be copied into it at all (`startsWindow`, `passed`): a vibration
/// capture arrives whole, every few hours, and a thousand machines' captures need not stay in
/// memory.
///
/// A value type over memory its owner allocates and frees (`allocate()`, `deallocate()`), so the
/// per-sample path runs on local copies without reference counting or exclusivity checks.
struct CountWindow {
    let size: Int
    let hop: Int
    private var values: UnsafeMutablePointer<Double>
    private var timestamps: UnsafeMutablePointer<Double>
    /// Samples the buffer holds: `size` when windows do not overlap, else `2 * size`.
    let capacity: Int
    /// Whether the buffer is allocated (not released since the last window).
    private(set) var held = true
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
        capacity = hop % size == 0 ? size : 2 * size
        values = .allocate(capacity: capacity)
        timestamps = .allocate(capacity: capacity)
    }

    /// Frees the buffer; the window is unusable afterwards.
    func deallocate() {
        guard held else { return }
        values.deallocate()
        timestamps.deallocate()
    }

    /// Gives the buffer back when windows do not overlap and the last one is complete: nothing
    /// in it is needed again, and the next sample allocates it anew (`makeRoom`).
    mutating func release() {
        guard held, capacity == size, end == capacity else { return }
        deallocate()
        held = false
    }

    /// Whether the next `size` samples make a window of their own: windows side by side (`hop`
    /// equal to `size`), none begun (a full countdown: nothing taken since the last window).
    var startsWindow: Bool { hop == size && untilDue == size }

    /// Counts a whole window's samples read where they lay (`startsWindow`) instead of copied in:
    /// the window is complete, and its buffer not needed.
    mutating func passed() {
        seen += size
        end = capacity
        release()
    }

    /// The sample the next `append` pushes out of the window, once the window is full. Only
    /// sliding sums ask, and only of windows that overlap (a buffer of `2 * size`).
    @inline(__always)
    var leaving: (timestamp: Double, value: Double)? {
        guard seen >= size else { return nil }
        return (timestamps[end - size], values[end - size])
    }

    /// Adds a sample; returns whether a window ends with it.
    @inline(__always)
    mutating func append(timestamp: Double, value: Double) -> Bool {
        makeRoom()
        values[end] = value
        timestamps[end] = timestamp
        end += 1
        seen += 1
        untilDue -= 1
        guard untilDue == 0 else { return false }
        untilDue = hop
        return true
    }

    /// Adds samples of a block from `values[offset...]`, the one at index `i` timed
    /// `start + i * step`, up to the end of the next window: copied as a run, not sample by
    /// sample. Returns how many it took and whether a window ends with the last of them.
    mutating func append(run values: UnsafeBufferPointer<Double>, from offset: Int, start: Double, step: Double) -> (taken: Int, due: Bool) {
        makeRoom()
        let taken = Swift.min(untilDue, values.count - offset, capacity - end)
        (self.values + end).update(from: values.baseAddress! + offset, count: taken)
        for index in 0..<taken {
            timestamps[end + index] = start + Double(offset + index) * step
        }
        end += taken
        seen += taken
        untilDue -= taken
        guard untilDue == 0 else { return (taken, false) }
        untilDue = hop
        return (taken, true)
    }

    /// When the buffer is full: starts it over (windows that do not overlap; allocated again if
    /// released), or moves the last window down to its start.
    @inline(__always)
    private mutating func makeRoom() {
        guard end == capacity else { return }
        if capacity == size {
            if !held {
                values = .allocate(capacity: capacity)
                timestamps = .allocate(capacity: capacity)
                held = true
            }
            end = 0
        } else {
            values.update(from: values + size, count: size)
            timestamps.update(from: timestamps + size, count: size)
            end = size
        }
    }

    /// The current window's values and timestamps (the last `size` samples).
    var window: (values: UnsafeBufferPointer<Double>, timestamps: UnsafeBufferPointer<Double>) {
        let start = end - Swift.min(size, end)
        return (UnsafeBufferPointer(start: values + start, count: end - start),
                UnsafeBufferPointer(start: timestamps + start, count: end - start))
    }
}
