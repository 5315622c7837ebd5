/// Sums of powers of samples' deviations from a reference value (and of their times from a
/// reference time), from which a window's moments and slope follow. Deviations from a nearby
/// reference keep values near 1e6 with noise of 1e-3 exact, where plain sums of x and x^2 lose
/// every digit. Sums can be added to and taken from sample by sample (sliding count windows) or
/// merged (the buckets of event-time windows).
struct PowerSums {
    /// Whether the time sums (for the slope) are kept; a window that reports no slope skips them.
    let timed: Bool
    private(set) var count = 0
    private(set) var referenceValue = 0.0
    private(set) var referenceTime = 0.0
    private var hasReference = false
    private var s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0
    private var su = 0.0, suu = 0.0, suy = 0.0

    /// Empty sums whose first sample will be the reference.
    init(timed: Bool = true) {
        self.timed = timed
    }

    /// Empty sums around the given references.
    init(referenceValue: Double, referenceTime: Double, timed: Bool = true) {
        self.timed = timed
        self.referenceValue = referenceValue
        self.referenceTime = referenceTime
        hasReference = true
    }

    /// Adds a sample; the first one of empty sums becomes the reference.
    @inline(__always)
    mutating func add(timestamp: Double, value: Double) {
        if !hasReference {
            referenceValue = value
            referenceTime = timestamp
            hasReference = true
        }
        let y = value - referenceValue, u = timestamp - referenceTime, y2 = y * y
        count += 1
        s1 += y
        s2 += y2
        s3 += y2 * y
        s4 += y2 * y2
        guard timed else { return }
        su += u
        suu += u * u
        suy += u * y
    }

    /// Adds one sample and removes another, in one update per sum.
    @inline(__always)
    mutating func replace(_ leaving: (timestamp: Double, value: Double), with timestamp: Double, _ value: Double) {
        let y = value - referenceValue, u = timestamp - referenceTime, y2 = y * y
        let yl = leaving.value - referenceValue, ul = leaving.timestamp - referenceTime, yl2 = yl * yl
        s1 += y - yl
        s2 += y2 - yl2
        s3 += y2 * y - yl2 * yl
        s4 += y2 * y2 - yl2 * yl2
        guard timed else { return }
        su += u - ul
        suu += u * u - ul * ul
        suy += u * y - ul * yl
    }

    /// Adds another set of sums, moved to this one's references first (binomial expansion of
    /// `(y + a)^k`, with `a` the difference of the references).
    mutating func merge(_ other: PowerSums) {
        guard other.count > 0 else { return }
        guard count > 0 else {
            self = other
            return
        }
        let a = other.referenceValue - referenceValue, b = other.referenceTime - referenceTime
        let n = Double(other.count)
        let a2 = a * a
        s4 += other.s4 + 4 * a * other.s3 + 6 * a2 * other.s2 + 4 * a2 * a * other.s1 + n * a2 * a2
        s3 += other.s3 + 3 * a * other.s2 + 3 * a2 * other.s1 + n * a2 * a
        s2 += other.s2 + 2 * a * other.s1 + n * a2
        suy += other.suy + a * other.su + b * other.s1 + n * a * b
        s1 += other.s1 + n * a
        suu += other.suu + 2 * b * other.su + n * b * b
        su += other.su + n * b
        count += other.count
    }

    /// The window's statistics but the zero-crossing rate, given its exact min and max; the
    /// sums are over `count` samples.
    func statistics(min: Double, max: Double) -> WindowStatistics {
        var result = WindowStatistics()
        guard count > 0 else { return result }
        let n = Double(count)
        result.count = count
        result.min = min
        result.max = max
        let d = s1 / n
        let mean = referenceValue + d
        result.mean = mean
        result.peak = Swift.max(abs(min), abs(max))
        // A window whose min equals its max has no spread, whatever rounding left in the sums.
        let constant = min == max
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
        result.slope = count < 2 || sxx <= 0 || constant ? 0 : (suy - su * s1 / n) / sxx
        return result
    }
}
