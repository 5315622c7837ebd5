// Release-mode micro-benchmarks of the feature engine, on one core:
//   swift run -c release vigil-bench
// Prints each figure with its target; medians of several runs on a noisy machine.
import VigilCore
import VigilFeatures

func seconds(_ body: () -> Void) -> Double {
    let start = MonotonicClock.now()
    body()
    return MonotonicClock.now() - start
}

func median(_ runs: Int, _ body: () -> Double) -> Double {
    let values = (0..<runs).map { _ in body() }.sorted()
    return values[values.count / 2]
}

var random = SystemRandomNumberGenerator()
let count = 4_000_000
let signal = (0..<count).map { index in sin(Double(index) * 0.37) + Double.random(in: -0.1...0.1, using: &random) }
let statistics = ["count", "mean", "std", "min", "max", "peak_to_peak", "rms", "peak", "crest_factor", "skewness",
                  "kurtosis", "slope", "zero_crossing_rate"]

func throughput(window: FeatureWindowSpec.Window, features: [String], rate: Double?) -> Double {
    median(5) {
        let stream = FeatureStream(spec: FeatureWindowSpec(sensor: 0, window: window, features: features), sampleRateHz: rate)
        var rows = 0
        // Samples arrive as sensor blocks of 1,024, as vibration payloads bring them.
        let elapsed = seconds {
            signal.withUnsafeBufferPointer { all in
                for start in stride(from: 0, to: count, by: 1024) {
                    let block = UnsafeBufferPointer(rebasing: all[start..<min(start + 1024, count)])
                    stream.append(block: block, timestamp: Double(start) / 4096, rateHz: 4096) { _ in rows += 1 }
                }
            }
        }
        precondition(rows > 0)
        return Double(count) / elapsed
    }
}

let statsRate = throughput(window: .count(size: 256, hop: 32), features: statistics, rate: nil)
print("statistics, 256-sample window, hop 32: \(Int(statsRate / 1e6)) M samples/s (target 50 M: \(String(format2: statsRate / 50e6)) of it)")
let spectralRate = throughput(window: .count(size: 1024, hop: 512),
                              features: statistics + ["dominant_frequency", "spectral_centroid", "band_0_500", "band_500_1500"],
                              rate: 4096)
print("statistics and spectrum, 1024-sample window, hop 512: \(Int(spectralRate / 1e6)) M samples/s")

let fft = RealFFT(count: 1024)
var power: [Double] = []
let block = Array(signal[0..<1024])
let repetitions = 20_000
let perTransform = median(7) {
    seconds {
        block.withUnsafeBufferPointer { input in
            for _ in 0..<repetitions { fft.powerSpectrum(input, into: &power) }
        }
    } / Double(repetitions)
}
print("1024-point real FFT (power spectrum): \(String(format2: perTransform * 1e6)) us (target <= 10 us)")

extension String {
    /// Two decimals, without Foundation.
    init(format2 value: Double) {
        let scaled = (value * 100).rounded()
        let whole = Int(scaled / 100)
        let fraction = Int(abs(scaled).truncatingRemainder(dividingBy: 100))
        self = "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

#if canImport(Glibc)
import Glibc
#endif
