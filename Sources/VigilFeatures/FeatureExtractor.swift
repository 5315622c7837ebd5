import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Computes a list of named features over one window: the statistics, and for sampled signals
/// the spectrum of the mean-removed, periodic-Hann-windowed values (`P = |X|^2 / n`,
/// `f_k = k * rate / n`): dominant frequency, spectral centroid and band energies; and the
/// squared-envelope spectrum at bearing defect frequencies (`envelope_*`).
public final class FeatureExtractor {
    /// One feature, resolved from its name once.
    private enum Feature {
        case statistic(WindowStatistics.Statistic)
        case dominantFrequency
        case spectralCentroid
        case band(ClosedRange<Double>)
        /// The defect frequency, Hz.
        case envelope(Double)
        case unknown
    }

    /// The feature names, in output order.
    public let names: [String]
    private let features: [Feature]
    private let sampleRateHz: Double?
    private let spectral: Bool
    private var fft: RealFFT?
    private let envelope: Bool
    private let scratch: FeatureScratch
    /// The bins of each band feature (empty for other features) in spectra of `plannedBins`
    /// bins: worked out once per size rather than per bin and window.
    private var bandBins: [Range<Int>] = []
    private var plannedBins = -1

    /// An extractor for `names` (statistics; spectral names need `sampleRateHz`, envelope names
    /// their frequency in `defectHz`), working in `scratch`.
    public init(names: [String], sampleRateHz: Double?, defectHz: [String: Double] = [:], scratch: FeatureScratch = FeatureScratch()) {
        self.names = names
        self.scratch = scratch
        self.sampleRateHz = sampleRateHz
        features = names.map { name in
            if let statistic = WindowStatistics.Statistic(rawValue: name) { return .statistic(statistic) }
            if name == "dominant_frequency" { return .dominantFrequency }
            if name == "spectral_centroid" { return .spectralCentroid }
            if let frequency = defectHz[name] { return .envelope(frequency) }
            return FeatureWindowSpec.band(name).map(Feature.band) ?? .unknown
        }
        spectral = features.contains {
            switch $0 {
            case .statistic, .envelope, .unknown: false
            default: true
            }
        }
        envelope = features.contains { if case .envelope = $0 { true } else { false } }
        needsZeroCrossings = names.contains("zero_crossing_rate")
    }

    /// Whether the zero-crossing rate is among the names (it costs a pass over the window).
    public let needsZeroCrossings: Bool

    /// Writes the features of the window into `out` (emptied first), in `names` order,
    /// computing the statistics from the values.
    public func compute(values: UnsafeBufferPointer<Double>, timestamps: UnsafeBufferPointer<Double>, into out: inout [Double]) {
        compute(statistics: WindowStatistics(values: values, timestamps: timestamps), values: values, into: &out)
    }

    /// Writes the features of the window into `out`, with its statistics already known.
    public func compute(statistics: WindowStatistics, values: UnsafeBufferPointer<Double>, into out: inout [Double]) {
        out.removeAll(keepingCapacity: true)
        if spectral { spectrum(values, mean: statistics.mean) }
        if envelope { envelopeSpectrum(values) }
        let power = scratch.power
        let n = Double(values.count)
        let rate = sampleRateHz ?? 0
        if spectral && plannedBins != power.count { planBins(count: power.count, rate: rate, n: n) }
        let binWidth = rate / n
        power.withUnsafeBufferPointer { power in
            for (position, feature) in features.enumerated() {
                switch feature {
                case .statistic(let statistic):
                    out.append(statistics[statistic])
                case .dominantFrequency:
                    var best = 1
                    for k in 1..<max(power.count, 1) where power[k] > power[best] { best = k }
                    out.append(power.count > 1 ? Double(best) * rate / n : 0)
                case .spectralCentroid:
                    let total = Self.sum(power, 0..<power.count)
                    out.append(total == 0 ? 0 : binWidth * Self.weightedSum(power) / total)
                case .band:
                    out.append(Self.sum(power, bandBins[position]))
                case .envelope(let frequency):
                    out.append(prominence(at: frequency, rate: rate, n: n))
                case .unknown:
                    out.append(.nan)
                }
            }
        }
    }

    /// The sum of `power[range]`, in four running sums: one alone waits on each add before the next.
    @inline(__always)
    private static func sum(_ power: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> Double {
        var a = 0.0, b = 0.0, c = 0.0, d = 0.0
        var k = range.lowerBound
        while k + 4 <= range.upperBound {
            a += power[k]
            b += power[k + 1]
            c += power[k + 2]
            d += power[k + 3]
            k += 4
        }
        while k < range.upperBound {
            a += power[k]
            k += 1
        }
        return (a + b) + (c + d)
    }

    /// The sum of `k * power[k]`, in four running sums likewise.
    @inline(__always)
    private static func weightedSum(_ power: UnsafeBufferPointer<Double>) -> Double {
        var a = 0.0, b = 0.0, c = 0.0, d = 0.0
        var k = 0
        while k + 4 <= power.count {
            let x = Double(k)
            a += x * power[k]
            b += (x + 1) * power[k + 1]
            c += (x + 2) * power[k + 2]
            d += (x + 3) * power[k + 3]
            k += 4
        }
        while k < power.count {
            a += Double(k) * power[k]
            k += 1
        }
        return (a + b) + (c + d)
    }

    /// Works out each band's bins (those whose frequency `k * rate / n` it holds) for spectra of
    /// `count` bins. Kept per extractor are only the ranges: a plant's thousand motors would
    /// otherwise hold a thousand copies of 1,025 bin frequencies.
    private func planBins(count: Int, rate: Double, n: Double) {
        bandBins = features.map { feature in
            guard case .band(let band) = feature else { return 0..<0 }
            let inside = (0..<count).filter { Double($0) * rate / n >= band.lowerBound && Double($0) * rate / n < band.upperBound }
            return (inside.first ?? 0)..<((inside.last ?? -1) + 1)
        }
        plannedBins = count
    }

    /// How far the squared-envelope spectrum stands out at `frequency` and its second harmonic
    /// (the power of the three bins around each) over the spectrum's median bin up to four
    /// times the frequency, in dB: near 0 on a healthy machine, and independent of sensor gain
    /// and of which resonance the impacts ring. A harmonic within two bins of one of the first
    /// four harmonics of another defect frequency this extractor measures is left out: that line
    /// is not this defect's alone (on the motors' 6205 bearing, twice BPFI lies 2 Hz from three
    /// times BPFO, and an outer race read as an inner one).
    private func prominence(at frequency: Double, rate: Double, n: Double) -> Double {
        let envelopePower = scratch.envelopePower
        let bin = frequency * n / max(rate, 1)
        let last = min(envelopePower.count - 1, Int(4 * bin))
        guard last >= 2 else { return 0 }
        func around(_ center: Double) -> Double {
            let k = Int(center.rounded())
            guard k >= 1 && k + 1 < envelopePower.count else { return 0 }
            return envelopePower[k - 1] + envelopePower[k] + envelopePower[k + 1]
        }
        scratch.sorted.removeAll(keepingCapacity: true)
        scratch.sorted.append(contentsOf: envelopePower[1...last])
        scratch.sorted.sort()
        // The median of exponentially distributed bins is ln 2 of their mean: noise gives 0 dB.
        let background = scratch.sorted[scratch.sorted.count / 2] / log(2)
        guard background > 0 else { return 0 }
        let harmonics = [bin, 2 * bin].filter { line in !sharedLine(line, besides: frequency, rate: rate, n: n) }
        guard !harmonics.isEmpty else { return 0 }
        return 10 * log10(harmonics.reduce(0) { $0 + around($1) } / (3 * Double(harmonics.count) * background))
    }

    /// Whether spectrum bin `line` lies within two bins of one of the first four harmonics of a
    /// defect frequency other than `frequency` among the features.
    private func sharedLine(_ line: Double, besides frequency: Double, rate: Double, n: Double) -> Bool {
        features.contains { feature in
            guard case .envelope(let other) = feature, other != frequency else { return false }
            let otherBin = other * n / max(rate, 1)
            return (1...4).contains { abs(Double($0) * otherBin - line) <= 2 }
        }
    }

    /// `envelopePower`: the spectrum of the squared first difference (a high-pass that keeps the
    /// resonances bearing impacts ring, whichever they are, and drops the shaft's harmonics),
    /// mean-removed and Hann-windowed; empty when the window is no power of two.
    private func envelopeSpectrum(_ values: UnsafeBufferPointer<Double>) {
        let n = values.count
        guard n >= 4, n & (n - 1) == 0, sampleRateHz != nil else { return scratch.envelopePower.removeAll(keepingCapacity: true) }
        powerSpectrum(count: n, into: \.envelopePower) { windowed, hann in
            var sum = 0.0
            for index in 1..<n {
                let difference = values[index] - values[index - 1]
                windowed[index] = difference * difference
                sum += difference * difference
            }
            let mean = sum / Double(n - 1)
            windowed[0] = mean
            for index in 0..<n { windowed[index] = (windowed[index] - mean) * hann[index] }
        }
    }

    /// `power` = |rfft((x - mean) * hann)|^2 / n; empty when the window is no power of two.
    private func spectrum(_ values: UnsafeBufferPointer<Double>, mean: Double) {
        let n = values.count
        guard n >= 4, n & (n - 1) == 0, sampleRateHz != nil else { return scratch.power.removeAll(keepingCapacity: true) }
        powerSpectrum(count: n, into: \.power) { windowed, hann in
            for index in 0..<n { windowed[index] = (values[index] - mean) * hann[index] }
        }
        let scale = 1 / Double(n)
        scratch.power.withUnsafeMutableBufferPointer { power in
            for k in power.indices { power[k] *= scale }
        }
    }

    /// Writes `|X[k]|^2` of the `count` values `fill` writes (given the Hann window) into the
    /// scratch array `output`.
    private func powerSpectrum(count n: Int, into output: ReferenceWritableKeyPath<FeatureScratch, [Double]>,
                               fill: (UnsafeMutableBufferPointer<Double>, UnsafeBufferPointer<Double>) -> Void) {
        let fft = plan(n)
        var windowed = scratch.take(\.windowed, count: n)
        var power = scratch.take(output, count: n / 2 + 1)
        defer {
            scratch.windowed = windowed
            scratch[keyPath: output] = power
        }
        windowed.withUnsafeMutableBufferPointer { windowed in
            fft.hann.withUnsafeBufferPointer { fill(windowed, $0) }
        }
        windowed.withUnsafeBufferPointer { fft.powerSpectrum($0, into: &power, workspace: &scratch.workspace) }
    }

    private func plan(_ n: Int) -> RealFFT {
        if let fft, fft.count == n { return fft }
        let plan = RealFFT.plan(count: n)
        fft = plan
        return plan
    }
}

/// The working arrays of spectral features, grown to the largest window and kept: the streams
/// of one thread share one (the agent's writer has one for every device), since a window's
/// features are computed and read before the next window's.
public final class FeatureScratch {
    var windowed: [Double] = []
    var power: [Double] = []
    var envelopePower: [Double] = []
    var sorted: [Double] = []
    var workspace: [Double] = []
    /// The sample times of a whole capture read where it lies (`FeatureStream`).
    var timestamps: [Double] = []

    public init() {}

    /// Moves an array out, `count` long (its values left over from earlier use), so it can be
    /// written through a pointer while the scratch's other arrays are read.
    func take(_ field: ReferenceWritableKeyPath<FeatureScratch, [Double]>, count: Int) -> [Double] {
        var array: [Double] = []
        swap(&array, &self[keyPath: field])
        array.resize(to: count)
        return array
    }
}
