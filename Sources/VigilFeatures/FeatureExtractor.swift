import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Computes a list of named features over one window: the statistics, and for sampled signals
/// the spectrum of the mean-removed, periodic-Hann-windowed values (`P = |X|^2 / n`,
/// `f_k = k * rate / n`): dominant frequency, spectral centroid and band energies.
public final class FeatureExtractor {
    /// One feature, resolved from its name once.
    private enum Feature {
        case statistic(WindowStatistics.Statistic)
        case dominantFrequency
        case spectralCentroid
        case band(ClosedRange<Double>)
        case unknown
    }

    /// The feature names, in output order.
    public let names: [String]
    private let features: [Feature]
    private let sampleRateHz: Double?
    private let spectral: Bool
    private var fft: RealFFT?
    private var hann: [Double] = []
    private var windowed: [Double] = []
    private var power: [Double] = []

    /// An extractor for `names` (statistics; spectral names need `sampleRateHz`).
    public init(names: [String], sampleRateHz: Double?) {
        self.names = names
        self.sampleRateHz = sampleRateHz
        features = names.map { name in
            if let statistic = WindowStatistics.Statistic(rawValue: name) { return .statistic(statistic) }
            if name == "dominant_frequency" { return .dominantFrequency }
            if name == "spectral_centroid" { return .spectralCentroid }
            return FeatureWindowSpec.band(name).map(Feature.band) ?? .unknown
        }
        spectral = features.contains { if case .statistic = $0 { false } else { true } }
    }

    /// Whether the zero-crossing rate is among the names (it costs a pass over the window).
    public var needsZeroCrossings: Bool { names.contains("zero_crossing_rate") }

    /// Writes the features of the window into `out` (emptied first), in `names` order,
    /// computing the statistics from the values.
    public func compute(values: UnsafeBufferPointer<Double>, timestamps: UnsafeBufferPointer<Double>, into out: inout [Double]) {
        compute(statistics: WindowStatistics(values: values, timestamps: timestamps), values: values, into: &out)
    }

    /// Writes the features of the window into `out`, with its statistics already known.
    public func compute(statistics: WindowStatistics, values: UnsafeBufferPointer<Double>, into out: inout [Double]) {
        out.removeAll(keepingCapacity: true)
        if spectral { spectrum(values, mean: statistics.mean) }
        let n = Double(values.count)
        let rate = sampleRateHz ?? 0
        for feature in features {
            switch feature {
            case .statistic(let statistic):
                out.append(statistics[statistic])
            case .dominantFrequency:
                var best = 1
                for k in 1..<max(power.count, 1) where power[k] > power[best] { best = k }
                out.append(power.count > 1 ? Double(best) * rate / n : 0)
            case .spectralCentroid:
                var weighted = 0.0, total = 0.0
                for (k, p) in power.enumerated() {
                    weighted += Double(k) * rate / n * p
                    total += p
                }
                out.append(total == 0 ? 0 : weighted / total)
            case .band(let band):
                var energy = 0.0
                for (k, p) in power.enumerated() {
                    let frequency = Double(k) * rate / n
                    if frequency >= band.lowerBound && frequency < band.upperBound { energy += p }
                }
                out.append(energy)
            case .unknown:
                out.append(.nan)
            }
        }
    }

    /// `power` = |rfft((x - mean) * hann)|^2 / n; empty when the window is no power of two.
    private func spectrum(_ values: UnsafeBufferPointer<Double>, mean: Double) {
        let n = values.count
        power.removeAll(keepingCapacity: true)
        guard n >= 4, n & (n - 1) == 0, sampleRateHz != nil else { return }
        if fft?.count != n {
            fft = RealFFT(count: n)
            hann = (0..<n).map { 0.5 - 0.5 * cos(2 * .pi * Double($0) / Double(n)) }
        }
        windowed.removeAll(keepingCapacity: true)
        for index in 0..<n { windowed.append((values[index] - mean) * hann[index]) }
        windowed.withUnsafeBufferPointer { fft!.powerSpectrum($0, into: &power) }
        let scale = 1 / Double(n)
        for k in power.indices { power[k] *= scale }
    }
}
