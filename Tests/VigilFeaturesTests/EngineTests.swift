import Testing
import VigilCore
import VigilFeatures
#if canImport(Glibc)
import Glibc
#endif

@Suite("Feature engine internals")
struct EngineTests {
    static let statistics = WindowStatistics.Statistic.allCases.map(\.rawValue)

    /// The streaming count-window statistics (running sums, queues, rebasing) agree with the
    /// exact two-pass computation over the same windows, for hop 1, wide hops and windows that do
    /// not overlap, on a signal with a large offset, a drift and spikes.
    @Test(arguments: [(64, 1), (256, 32), (100, 7), (32, 64), (128, 128)])
    func streamingMatchesTwoPass(size: Int, hop: Int) {
        var random = SystemRandomNumberGenerator()
        let values = (0..<3_000).map { index -> Double in
            let spike = index % 401 == 0 ? 50.0 : 0
            return 1e5 + 0.01 * Double(index) + sin(Double(index) * 0.3) + Double.random(in: -0.5...0.5, using: &random) + spike
        }
        let timestamps = (0..<values.count).map { 1.75e9 + Double($0) * 0.25 }
        let stream = FeatureStream(spec: FeatureWindowSpec(sensor: 0, window: .count(size: size, hop: hop), features: Self.statistics),
                                   sampleRateHz: nil)
        var rows: [(Int, FeatureStream.Row)] = []
        for index in values.indices {
            stream.append(timestamp: timestamps[index], value: values[index]) { rows.append((index, $0)) }
        }
        #expect(rows.count == (values.count - size) / hop + 1)
        var worst = 0.0
        for (end, row) in rows {
            let exact = values.withUnsafeBufferPointer { v in
                timestamps.withUnsafeBufferPointer { t in
                    WindowStatistics(values: UnsafeBufferPointer(rebasing: v[(end + 1 - size)...end]),
                                     timestamps: UnsafeBufferPointer(rebasing: t[(end + 1 - size)...end]))
                }
            }
            for (column, statistic) in WindowStatistics.Statistic.allCases.enumerated() {
                let want = exact[statistic]
                worst = max(worst, abs(row.values[column] - want) / max(1, abs(want)))
            }
        }
        #expect(worst < 1e-9, "largest relative difference \(worst)")
    }

    @Test(arguments: [4, 8, 16, 32, 64, 128, 1024, 2048])
    func fftMatchesADirectDFT(count: Int) {
        let input = (0..<count).map { index -> Double in
            let x = Double(index)
            return sin(x * 0.7) + 0.3 * cos(x * 2.1) + Double(index % 5)
        }
        // Arrays left from a transform of another size are resized, not trusted.
        var power = Array(repeating: 7.0, count: 3 * count), workspace = Array(repeating: 7.0, count: 2 * count)
        input.withUnsafeBufferPointer { RealFFT(count: count).powerSpectrum($0, into: &power, workspace: &workspace) }
        #expect(power.count == count / 2 + 1)
        for k in 0...count / 2 {
            var re = 0.0, im = 0.0
            for (j, x) in input.enumerated() {
                let angle = -2 * Double.pi * Double(k * j) / Double(count)
                re += x * cos(angle)
                im += x * sin(angle)
            }
            #expect(abs(power[k] - (re * re + im * im)) <= 1e-9 * max(1, re * re + im * im), "bin \(k)")
        }
    }

    /// The complex spectrum a band's envelope is demodulated from, and the half-length complex
    /// transform that brings a band back in time, forward and (its parts swapped) inverse.
    @Test(arguments: [4, 8, 32, 2048])
    func complexTransformsMatchADirectDFT(count: Int) {
        let input = (0..<count).map { index -> Double in sin(Double(index) * 0.9) + Double(index % 3) }
        func dft(_ re: [Double], _ im: [Double], sign: Double, _ k: Int) -> (Double, Double) {
            var sumR = 0.0, sumI = 0.0
            for j in re.indices {
                let angle = sign * 2 * Double.pi * Double(k * j) / Double(re.count)
                sumR += re[j] * cos(angle) - im[j] * sin(angle)
                sumI += re[j] * sin(angle) + im[j] * cos(angle)
            }
            return (sumR, sumI)
        }
        let fft = RealFFT(count: count)
        var real: [Double] = [], imaginary: [Double] = [], workspace: [Double] = []
        input.withUnsafeBufferPointer { fft.spectrum($0, real: &real, imaginary: &imaginary, workspace: &workspace) }
        #expect(real.count == count / 2 + 1 && imaginary.count == count / 2 + 1)
        for k in 0...count / 2 {
            let (re, im) = dft(input, Array(repeating: 0, count: count), sign: -1, k)
            #expect(abs(real[k] - re) < 1e-9 * Double(count) && abs(imaginary[k] - im) < 1e-9 * Double(count), "bin \(k)")
        }
        let points = count / 2
        let re0 = (0..<points).map { cos(Double($0) * 1.3) }, im0 = (0..<points).map { Double($0 % 4) - 1.5 }
        var re = re0, im = im0
        re.withUnsafeMutableBufferPointer { re in
            im.withUnsafeMutableBufferPointer { fft.complexTransform(real: re.baseAddress!, imaginary: $0.baseAddress!) }
        }
        for k in 0..<points {
            let (r, i) = dft(re0, im0, sign: -1, k)
            #expect(abs(re[k] - r) < 1e-9 * Double(count) && abs(im[k] - i) < 1e-9 * Double(count), "forward bin \(k)")
        }
        re = re0
        im = im0
        re.withUnsafeMutableBufferPointer { re in
            im.withUnsafeMutableBufferPointer { fft.complexTransform(real: $0.baseAddress!, imaginary: re.baseAddress!) }
        }
        for j in 0..<points {
            let (r, i) = dft(re0, im0, sign: 1, j)
            #expect(abs(re[j] - r) < 1e-9 * Double(count) && abs(im[j] - i) < 1e-9 * Double(count), "inverse point \(j)")
        }
    }

    @Test func lateSamplesAreDroppedAndCounted() {
        let stream = FeatureStream(spec: FeatureWindowSpec(sensor: 0, window: .time(seconds: 10, hopSeconds: 10), features: ["count", "mean"]),
                                   sampleRateHz: nil)
        var rows: [FeatureStream.Row] = []
        for time in [1.0, 2, 3, 12, 4, 13, 25] {
            stream.append(timestamp: time, value: time) { rows.append($0) }
        }
        // 4 arrives after the window [0, 10) closed: dropped, not folded into [10, 20).
        #expect(stream.lateSamples == 1)
        #expect(rows.map(\.values) == [[3, 2], [2, 12.5]])
        #expect(rows.map(\.end) == [10, 20])
    }

    /// A capture in pieces holds its window's room until complete, then gives it back; a whole
    /// capture in one block is read where it lies. Either way a block sensor's stream holds no
    /// samples between captures, and the features are the same.
    @Test func aCaptureHoldsMemoryOnlyWhileInHand() {
        let spec = FeatureWindowSpec(sensor: 0, window: .count(size: 2048, hop: 2048), features: ["rms", "kurtosis", "band_0_500", "dominant_frequency"])
        let stream = FeatureStream(spec: spec, sampleRateHz: 12_000)
        let capture = (0..<2048).map { sin(Double($0) * 0.3) + 0.01 * Double($0 % 5) }
        var rows: [FeatureStream.Row] = []
        capture.withUnsafeBufferPointer { samples in
            for start in [0.0, 7200, 14_400] {
                stream.append(block: UnsafeBufferPointer(rebasing: samples[0..<1000]), timestamp: start, rateHz: 12_000) { rows.append($0) }
                #expect(stream.samplesHeld == 2048)
                stream.append(block: UnsafeBufferPointer(rebasing: samples[1000...]), timestamp: start + 1000 / 12_000, rateHz: 12_000) { rows.append($0) }
                #expect(stream.samplesHeld == 0)
            }
            stream.append(block: samples, timestamp: 21_600, rateHz: 12_000) { rows.append($0) }
        }
        #expect(stream.samplesHeld == 0 && rows.count == 4)
        #expect(rows.allSatisfy { $0.values == rows[0].values && $0.sampleCount == 2048 } && rows[3].start == 21_600, "\(rows)")
    }

    /// Blocks (copied into windows as runs when the sums do not slide) give the rows that the
    /// same samples give one by one: windows that overlap, slide, do not overlap, or skip
    /// samples between them, fed in blocks that end inside, on and across window bounds.
    @Test(arguments: [(1024, 512), (256, 256), (256, 32), (100, 150), (64, 128)], [1000, 256, 7, 1])
    func blocksGiveTheSameRowsAsSamples(window: (size: Int, hop: Int), blockSize: Int) {
        let rate = 2048.0
        let samples = (0..<4096).map { sin(Double($0) * 0.05) + 0.1 * Double($0 % 7) }
        let spec = FeatureWindowSpec(sensor: 0, window: .count(size: window.size, hop: window.hop),
                                     features: ["mean", "std", "peak", "crest_factor", "kurtosis", "dominant_frequency", "band_0_100"])
        let one = FeatureStream(spec: spec, sampleRateHz: rate)
        let many = FeatureStream(spec: spec, sampleRateHz: rate)
        var a: [FeatureStream.Row] = [], b: [FeatureStream.Row] = []
        for (index, sample) in samples.enumerated() { one.append(timestamp: 100 + Double(index) / rate, value: sample) { a.append($0) } }
        samples.withUnsafeBufferPointer { all in
            for start in stride(from: 0, to: 4096, by: blockSize) {
                many.append(block: UnsafeBufferPointer(rebasing: all[start..<min(start + blockSize, 4096)]),
                            timestamp: 100 + Double(start) / rate, rateHz: rate) { b.append($0) }
            }
        }
        #expect(a.count == (4096 - window.size) / window.hop + 1)
        // Windows that do not overlap give their samples' room back once one is complete (and
        // take it again for the next, as every row after the first shows).
        #expect(one.samplesHeld == (window.hop % window.size == 0 ? 0 : 2 * window.size) && many.samplesHeld == one.samplesHeld)
        #expect(a.map(\.values) == b.map(\.values))
        #expect(a.map(\.sampleCount) == b.map(\.sampleCount))
        for (x, y) in zip(a, b) {
            #expect(abs(x.start - y.start) < 1e-9 && abs(x.end - y.end) < 1e-9, "window \(x.start)...\(x.end) vs \(y.start)...\(y.end)")
        }
    }
}

@Suite("Event-time windows from hop summaries")
struct SummarisedTimeWindowTests {
    /// Windows merged from per-hop summaries give the statistics of the raw samples, with no
    /// sample kept; late samples are refused the same way.
    @Test(arguments: [(60.0, 15.0), (10.0, 10.0), (3600.0, 600.0)])
    func summariesMatchRawSamples(seconds: Double, hop: Double) {
        // Seeded: on data whose noise sits at 1e-9 of its offset, one unseeded draw in many put
        // skewness 1.25 tolerances apart, which says nothing about the change under test.
        var random = SeededRandom(seed: 104, stream: UInt64(seconds))
        var time = 1.75e9 + 0.37
        var samples: [(Double, Double)] = []
        for index in 0..<5_000 {
            time += Double.random(in: 0.05...(hop / 4), using: &random)
            if index % 997 == 0 { time += 3 * seconds }   // gaps longer than a window
            let value = 1e6 + 0.001 * Double.random(in: -1...1, using: &random) + 1e-6 * Double(index)
            samples.append((time, value))
            if index % 50 == 0 { samples.append((time - 2 * seconds, value)) }   // late
        }
        let statistics = WindowStatistics.Statistic.allCases.filter { $0 != .zeroCrossingRate }
        var raw = TimeWindow(seconds: seconds, hopSeconds: hop, needsSamples: true)
        var summarised = TimeWindow(seconds: seconds, hopSeconds: hop, needsSamples: false)
        #expect(!summarised.keepsSamples)
        var expected: [(TimeWindow.Bounds, WindowStatistics)] = []
        var got: [(TimeWindow.Bounds, WindowStatistics)] = []
        for (timestamp, value) in samples {
            raw.append(timestamp: timestamp, value: value) { bounds, _, values, timestamps in
                expected.append((bounds, WindowStatistics(values: values, timestamps: timestamps)))
            }
            summarised.append(timestamp: timestamp, value: value) { bounds, summary, _, _ in got.append((bounds, summary!)) }
        }
        #expect(got.count == expected.count && got.count > 20)
        #expect(raw.late == summarised.late && raw.late > 0)
        var worst = 0.0
        for ((boundsA, a), (boundsB, b)) in zip(expected, got) {
            #expect(boundsA == boundsB)
            for statistic in statistics {
                // The large-offset vector's tolerances: 1e-4 absolute for skewness and
                // kurtosis, 1e-5 relative (plus 1e-9) for the rest.
                let tolerance = statistic == .skewness || statistic == .kurtosis ? 1e-4 : 1e-9 + 1e-5 * abs(a[statistic])
                worst = max(worst, abs(a[statistic] - b[statistic]) / tolerance)
            }
        }
        // The data's noise sits at 1e-9 of its offset, so the two computations differ in the
        // last digits the data has; they stay within the reference vectors' tolerances.
        #expect(worst < 1, "largest difference \(worst) of the tolerance")
    }
}

@Suite("A stuck window from its stored features")
struct StoredConstantTests {
    /// The windows a stream marks constant are told from their features alone, whichever of
    /// std, peak-to-peak, min and max, or mean and max the spec computes; a live window is not,
    /// nor one of fewer samples than a stuck verdict needs; features that cannot tell give nil.
    @Test func storedFeaturesTellAStuckWindow() {
        let spec = FeatureWindowSpec(sensor: 0, window: .time(seconds: 10, hopSeconds: 10), features: ["mean", "max", "std", "min", "peak_to_peak"])
        let stream = FeatureStream(spec: spec, sampleRateHz: nil)
        var rows: [FeatureStream.Row] = []
        // 0.1 is not a binary fraction: a mean from sums of it may round away from it.
        for second in 0..<41 { stream.append(timestamp: Double(second), value: second < 20 ? 0.1 : 20 + Double(second % 3)) { rows.append($0) } }
        #expect(rows.map(\.constant) == [true, true, false, false])
        for row in rows {
            for names in [["mean", "max"], ["std"], ["min", "max"], ["peak_to_peak"]] {
                let values = names.map { row.values[spec.features.firstIndex(of: $0)!] }
                #expect(FeatureStream.Row.constant(names: names, values: values, sampleCount: row.sampleCount) == row.constant, "\(names) \(row)")
            }
        }
        #expect(FeatureStream.Row.constant(names: ["std"], values: [0], sampleCount: 9) == false)
        #expect(FeatureStream.Row.constant(names: ["mean", "slope"], values: [1, 0], sampleCount: 20) == nil)
    }
}
