#if canImport(Glibc)
import Glibc
#endif

/// The statistics of one window of samples, computed exactly from the window's values in two
/// passes (mean first, then centred moments), so values near 1e6 with noise of 1e-3 come out as
/// right as values near 0. Definitions: population moments (ddof 0), biased skewness, excess
/// kurtosis, least-squares slope per second, zero crossings of `x - mean`.
public struct WindowStatistics: Sendable, Equatable {
    public var count = 0
    public var mean = 0.0
    public var std = 0.0
    public var min = 0.0
    public var max = 0.0
    public var rms = 0.0
    public var peak = 0.0
    public var crestFactor = 0.0
    public var skewness = 0.0
    public var kurtosis = 0.0
    public var slope = 0.0
    public var zeroCrossingRate = 0.0

    public init() {}

    /// Computes the statistics of `values` taken at `timestamps` (same length, at least 1).
    public init(values: UnsafeBufferPointer<Double>, timestamps: UnsafeBufferPointer<Double>) {
        let n = values.count
        count = n
        guard n > 0 else { return }
        // The mean as the first value plus the mean deviation from it: exact for a constant
        // window, and no large offset is ever summed.
        let reference = values[0]
        var deviations = 0.0
        var low = reference
        var high = reference
        for value in values {
            deviations += value - reference
            low = Swift.min(low, value)
            high = Swift.max(high, value)
        }
        let mean = reference + deviations / Double(n)
        // Centred moments, and the slope's centred sums against time relative to the first
        // timestamp (its mean is removed too, so the epoch's magnitude costs no precision).
        var timeSum = 0.0
        let origin = timestamps[0]
        for time in timestamps { timeSum += time - origin }
        let timeMean = timeSum / Double(n)
        var m2 = 0.0, m3 = 0.0, m4 = 0.0, sxy = 0.0, sxx = 0.0, squares = 0.0
        var crossings = 0
        var previousSign = 0.0
        for index in 0..<n {
            let value = values[index]
            let d = value - mean
            let d2 = d * d
            m2 += d2
            m3 += d2 * d
            m4 += d2 * d2
            squares += value * value
            let t = timestamps[index] - origin - timeMean
            sxy += t * d
            sxx += t * t
            if d != 0 {
                let sign: Double = d > 0 ? 1 : -1
                if previousSign != 0 && sign != previousSign { crossings += 1 }
                previousSign = sign
            }
        }
        m2 /= Double(n)
        m3 /= Double(n)
        m4 /= Double(n)
        self.mean = mean
        std = m2.squareRoot()
        min = low
        max = high
        rms = (squares / Double(n)).squareRoot()
        peak = Swift.max(abs(low), abs(high))
        crestFactor = rms == 0 ? 0 : peak / rms
        skewness = m2 == 0 ? 0 : m3 / (m2 * m2.squareRoot())
        kurtosis = m2 == 0 ? 0 : m4 / (m2 * m2) - 3
        slope = n < 2 || sxx == 0 ? 0 : sxy / sxx
        zeroCrossingRate = n < 2 ? 0 : Double(crossings) / Double(n - 1)
    }

    /// Sign changes of `x - mean` (zeros dropped) divided by `n - 1`. The common case (no sample
    /// equal to the mean) counts neighbours on either side of the mean without branches; a
    /// window with such a sample takes the exact, slower path that skips it.
    static func zeroCrossingRate(_ values: UnsafeBufferPointer<Double>, mean: Double) -> Double {
        let n = values.count
        guard n >= 2 else { return 0 }
        var crossings = 0
        var zeros = 0
        var previousAbove = values[0] > mean
        zeros &+= values[0] == mean ? 1 : 0
        for index in 1..<n {
            let value = values[index]
            let above = value > mean
            crossings &+= above != previousAbove ? 1 : 0
            zeros &+= value == mean ? 1 : 0
            previousAbove = above
        }
        if zeros > 0 {
            crossings = 0
            var previous = 0.0
            for value in values {
                let deviation = value - mean
                guard deviation != 0 else { continue }
                let sign: Double = deviation > 0 ? 1 : -1
                if previous != 0 && sign != previous { crossings += 1 }
                previous = sign
            }
        }
        return Double(crossings) / Double(n - 1)
    }

    /// The smallest and largest of `values` (at least one), in four independent lanes so the
    /// comparisons pipeline (the samples are finite: a payload with NaN is refused).
    static func extremes(_ values: UnsafeBufferPointer<Double>) -> (min: Double, max: Double) {
        var low0 = values[0], low1 = low0, low2 = low0, low3 = low0
        var high0 = low0, high1 = low0, high2 = low0, high3 = low0
        var index = 0
        while index + 4 <= values.count {
            let a = values[index], b = values[index + 1], c = values[index + 2], d = values[index + 3]
            low0 = a < low0 ? a : low0
            low1 = b < low1 ? b : low1
            low2 = c < low2 ? c : low2
            low3 = d < low3 ? d : low3
            high0 = a > high0 ? a : high0
            high1 = b > high1 ? b : high1
            high2 = c > high2 ? c : high2
            high3 = d > high3 ? d : high3
            index += 4
        }
        var minimum = Swift.min(Swift.min(low0, low1), Swift.min(low2, low3))
        var maximum = Swift.max(Swift.max(high0, high1), Swift.max(high2, high3))
        while index < values.count {
            minimum = Swift.min(minimum, values[index])
            maximum = Swift.max(maximum, values[index])
            index += 1
        }
        return (minimum, maximum)
    }

    /// The statistics by name, FEATURES.md's names.
    public enum Statistic: String, CaseIterable, Sendable {
        case count, mean, std, min, max, rms, peak, skewness, kurtosis, slope
        case peakToPeak = "peak_to_peak"
        case crestFactor = "crest_factor"
        case zeroCrossingRate = "zero_crossing_rate"
    }

    /// One statistic's value.
    @inline(__always)
    public subscript(statistic: Statistic) -> Double {
        switch statistic {
        case .count: Double(count)
        case .mean: mean
        case .std: std
        case .min: min
        case .max: max
        case .peakToPeak: max - min
        case .rms: rms
        case .peak: peak
        case .crestFactor: crestFactor
        case .skewness: skewness
        case .kurtosis: kurtosis
        case .slope: slope
        case .zeroCrossingRate: zeroCrossingRate
        }
    }
}
