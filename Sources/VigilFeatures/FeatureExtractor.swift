import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Computes a list of named features over one window: the statistics, and for sampled signals
/// the spectrum of the mean-removed, periodic-Hann-windowed values (`P = |X|^2 / n`,
/// `f_k = k * rate / n`): dominant frequency, spectral centroid and band energies; and the
/// squared-envelope spectrum at bearing defect frequencies, over the whole spectrum
/// (`envelope_*`) or band by band (`envelope_band_*`).
public final class FeatureExtractor {
    /// One feature, resolved from its name once.
    private enum Feature {
        case statistic(WindowStatistics.Statistic)
        case dominantFrequency
        case spectralCentroid
        case band(ClosedRange<Double>)
        /// The defect frequency, Hz.
        case envelope(Double)
        /// The defect frequency, Hz, looked at in each of the `envelopeBands`.
        case bandEnvelope(Double)
        case unknown

        /// The defect frequency of an envelope feature.
        var defectHz: Double? {
            switch self {
            case .envelope(let frequency), .bandEnvelope(let frequency): frequency
            default: nil
            }
        }
    }

    /// The bands, Hz, whose envelopes `envelope_band_*` features look at: 1 kHz wide every
    /// 500 Hz from 1 kHz up to the Nyquist frequency. Impacts ring a structural resonance
    /// (1.5 to 6 kHz on a motor, depending on its mounting), and in the band around it their
    /// lines stand out over much less noise than over the whole spectrum.
    static func envelopeBands(rate: Double) -> [Range<Double>] {
        stride(from: 1000.0, through: rate / 2 - 1000, by: 500).map { $0..<($0 + 1000) }
    }

    /// The feature names, in output order.
    public let names: [String]
    private let features: [Feature]
    private let sampleRateHz: Double?
    private let spectral: Bool
    private var fft: RealFFT?
    private let envelope: Bool
    private let bandEnvelope: Bool
    private let scratch: FeatureScratch
    /// The bins of each band feature (empty for other features) in spectra of `plannedBins`
    /// bins: worked out once per size rather than per bin and window.
    private var bandBins: [Range<Int>] = []
    /// The bins of each of the `envelopeBands`, likewise.
    private var envelopeBandBins: [Range<Int>] = []
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
            if let frequency = defectHz[name] {
                return FeatureWindowSpec.bandEnvelope(name) ? .bandEnvelope(frequency) : .envelope(frequency)
            }
            return FeatureWindowSpec.band(name).map(Feature.band) ?? .unknown
        }
        spectral = features.contains {
            switch $0 {
            case .statistic, .envelope, .unknown: false
            default: true
            }
        }
        envelope = features.contains { if case .envelope = $0 { true } else { false } }
        bandEnvelope = features.contains { if case .bandEnvelope = $0 { true } else { false } }
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
        if bandEnvelope { bandEnvelopeSpectra(values, mean: statistics.mean) }
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
                    out.append(scratch.envelopePower.withUnsafeBufferPointer { prominence(in: $0, at: frequency, rate: rate, n: n) })
                case .bandEnvelope(let frequency):
                    out.append(bandProminence(at: frequency, rate: rate, n: n))
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
        envelopeBandBins = Self.envelopeBands(rate: rate).map { band in
            Int((band.lowerBound * n / rate).rounded(.up))..<Int((band.upperBound * n / rate).rounded(.up))
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
    private func prominence(in envelopePower: UnsafeBufferPointer<Double>, at frequency: Double, rate: Double, n: Double) -> Double {
        let bin = frequency * n / max(rate, 1)
        let last = min(envelopePower.count - 1, Int(4 * bin))
        guard last >= 2 else { return 0 }
        func around(_ center: Double) -> Double {
            let k = Int(center.rounded())
            guard k >= 1 && k + 1 < envelopePower.count else { return 0 }
            return envelopePower[k - 1] + envelopePower[k] + envelopePower[k + 1]
        }
        scratch.selection.removeAll(keepingCapacity: true)
        scratch.selection.append(contentsOf: envelopePower[1...last])
        let median = scratch.selection.withUnsafeMutableBufferPointer { Self.select($0, $0.count / 2) }
        // The median of exponentially distributed bins is ln 2 of their mean: noise gives 0 dB.
        let background = median / log(2)
        guard background > 0 else { return 0 }
        let harmonics = [bin, 2 * bin].filter { line in !sharedLine(line, besides: frequency, rate: rate, n: n) }
        guard !harmonics.isEmpty else { return 0 }
        return 10 * log10(harmonics.reduce(0) { $0 + around($1) } / (3 * Double(harmonics.count) * background))
    }

    /// The `k`th smallest of `values` (0-based; reordered in place), by quickselect: sorting each
    /// band's few hundred bins for their median cost more than the band's transforms.
    static func select(_ values: UnsafeMutableBufferPointer<Double>, _ k: Int) -> Double {
        var low = 0, high = values.count - 1
        while low < high {
            let pivot = values[(low + high) / 2]
            var i = low, j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                high = j
            } else if k >= i {
                low = i
            } else {
                break
            }
        }
        return values[k]
    }

    /// Whether spectrum bin `line` lies within two bins of one of the first four harmonics of a
    /// defect frequency other than `frequency` among the features.
    private func sharedLine(_ line: Double, besides frequency: Double, rate: Double, n: Double) -> Bool {
        features.contains { feature in
            guard let other = feature.defectHz, other != frequency else { return false }
            let otherBin = other * n / max(rate, 1)
            return (1...4).contains { abs(Double($0) * otherBin - line) <= 2 }
        }
    }

    /// The largest `prominence` at `frequency` over the `envelopeBands`' envelopes.
    private func bandProminence(at frequency: Double, rate: Double, n: Double) -> Double {
        scratch.bandEnvelopePower.withUnsafeBufferPointer { spectra in
            guard !spectra.isEmpty else { return 0 }
            let stride = spectra.count / envelopeBandBins.count
            return (0..<envelopeBandBins.count).reduce(-Double.infinity) { best, band in
                let spectrum = UnsafeBufferPointer(rebasing: spectra[(band * stride)..<((band + 1) * stride)])
                return max(best, prominence(in: spectrum, at: frequency, rate: rate, n: n))
            }
        }
    }

    /// `bandEnvelopePower`: for each of the `envelopeBands`, the spectrum of the squared
    /// magnitude of the band's analytic signal (the band's bins of the window's spectrum, shifted
    /// to 0 Hz and transformed back at the fewest points that hold it), mean-removed and
    /// Hann-windowed, one after another. The window still lasts as long, so its bins
    /// are as wide as the whole window's and `prominence` reads it as it reads `envelopePower`.
    /// The window is transformed again here for the phases `power` drops.
    private func bandEnvelopeSpectra(_ values: UnsafeBufferPointer<Double>, mean: Double) {
        let n = values.count
        let width = envelopeBandBins.map(\.count).max() ?? 0
        scratch.bandEnvelopePower.removeAll(keepingCapacity: true)
        guard n >= 4, n & (n - 1) == 0, width > 0, envelopeBandBins.allSatisfy({ $0.upperBound <= n / 2 }) else { return }
        // Bands start at 1 kHz and end by the Nyquist frequency, so `points` is at most n / 2 and
        // the shifted band's real and imaginary parts both fit in the window's scratch.
        var points = 4
        while points < 2 * width { points *= 2 }
        let fft = plan(n), bandFFT = RealFFT.plan(count: 2 * points), envelopeFFT = RealFFT.plan(count: points)
        var windowed = scratch.take(\.windowed, count: n)
        var real = scratch.take(\.real, count: 0), imaginary = scratch.take(\.imaginary, count: 0)
        var bandPower = scratch.take(\.bandSpectrum, count: 0)
        defer {
            scratch.windowed = windowed
            scratch.real = real
            scratch.imaginary = imaginary
            scratch.bandSpectrum = bandPower
        }
        windowed.withUnsafeMutableBufferPointer { windowed in
            fft.hann.withUnsafeBufferPointer { hann in
                for index in 0..<n { windowed[index] = (values[index] - mean) * hann[index] }
            }
        }
        windowed.withUnsafeBufferPointer { fft.spectrum($0, real: &real, imaginary: &imaginary, workspace: &scratch.workspace) }
        for bins in envelopeBandBins {
            windowed.withUnsafeMutableBufferPointer { windowed in
                let re = windowed.baseAddress!, im = re + points
                for j in 0..<points {
                    re[j] = j < bins.count ? real[bins.lowerBound + j] : 0
                    im[j] = j < bins.count ? imaginary[bins.lowerBound + j] : 0
                }
                // Swapped parts: the inverse transform, the band's analytic signal at 0 Hz.
                bandFFT.complexTransform(real: im, imaginary: re)
                var sum = 0.0
                for j in 0..<points {
                    re[j] = re[j] * re[j] + im[j] * im[j]
                    sum += re[j]
                }
                let average = sum / Double(points)
                envelopeFFT.hann.withUnsafeBufferPointer { hann in
                    for j in 0..<points { re[j] = (re[j] - average) * hann[j] }
                }
                envelopeFFT.powerSpectrum(UnsafeBufferPointer(start: re, count: points), into: &bandPower, workspace: &scratch.workspace)
            }
            scratch.bandEnvelopePower.append(contentsOf: bandPower)
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
    /// The window's spectrum `X[k]`, and the `envelopeBands`' envelope spectra one after another.
    var real: [Double] = []
    var imaginary: [Double] = []
    var bandSpectrum: [Double] = []
    var bandEnvelopePower: [Double] = []
    var selection: [Double] = []
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
