// Release-mode micro-benchmarks of the feature engine, on one core:
//   swift run -c release vigil-bench
// Prints each figure with its target; medians of several runs on a noisy machine.
import VigilCore
import VigilFeatures
import VigilFleet
import VigilInference
import VigilTrainer

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

/// Samples per second through `windows` of one sensor, fed as blocks of `blockSize` samples as
/// vibration payloads bring them.
func throughput(_ windows: [(FeatureWindowSpec.Window, [String])], rate: Double?, blockSize: Int = 1024,
                defectHz: [String: Double] = [:]) -> Double {
    median(5) {
        let scratch = FeatureScratch()
        let streams = windows.map { window, features in
            FeatureStream(spec: FeatureWindowSpec(sensor: 0, window: window, features: features, defectHz: defectHz), sampleRateHz: rate,
                          scratch: scratch)
        }
        var rows = 0
        let elapsed = seconds {
            signal.withUnsafeBufferPointer { all in
                for start in stride(from: 0, to: count, by: blockSize) {
                    let block = UnsafeBufferPointer(rebasing: all[start..<min(start + blockSize, count)])
                    for stream in streams {
                        stream.append(block: block, timestamp: Double(start) / 4096, rateHz: 4096) { _ in rows += 1 }
                    }
                }
            }
        }
        precondition(rows > 0)
        return Double(count) / elapsed
    }
}

let statsRate = throughput([(.count(size: 256, hop: 32), statistics)], rate: nil)
print("statistics, 256-sample window, hop 32: \(Int(statsRate / 1e6)) M samples/s (target 50 M: \(String(format2: statsRate / 50e6)) of it)")
let spectralRate = throughput([(.count(size: 1024, hop: 512), statistics + ["dominant_frequency", "spectral_centroid", "band_0_500", "band_500_1500"])],
                              rate: 4096)
print("statistics and spectrum, 1024-sample window, hop 512: \(Int(spectralRate / 1e6)) M samples/s")
// The windows bench-ingest's block runs compute (scripts/bench/devices/bench-capture.json).
let captureRate = throughput([(.count(size: 256, hop: 256), ["mean", "std", "rms", "peak", "crest_factor", "skewness", "kurtosis"]),
                              (.count(size: 1024, hop: 512), ["rms", "kurtosis", "dominant_frequency", "spectral_centroid", "band_0_500",
                                                              "band_500_1500", "band_1500_2500", "band_2500_4000", "band_4000_6000"])],
                             rate: 12_000, blockSize: 256)
print("capture windows (bench-capture): \(String(format2: 256 / captureRate * 1e6)) us per 256-sample block")
// A motor's vibration capture (devices/induction-motor.json), with its envelope features band by
// band as shipped or over the whole spectrum.
func motorCapture(_ envelope: String) -> Double {
    let names = ["rms", "peak", "crest_factor", "kurtosis", "skewness", "dominant_frequency", "spectral_centroid", "band_0_500",
                 "band_500_1500", "band_1500_2500", "band_2500_4000", "band_4000_6000"] + ["bpfo", "bpfi", "bsf"].map { envelope + $0 }
    let defects = Dictionary(uniqueKeysWithValues: zip(names.suffix(3), [107.4, 162.2, 141.2]))
    return 8192 / throughput([(.count(size: 8192, hop: 8192), names)], rate: 12_000, blockSize: 8192, defectHz: defects)
}
let bandCapture = motorCapture("envelope_band_"), wholeCapture = motorCapture("envelope_")
print("motor capture, 8,192 samples: \(String(format2: bandCapture * 1e6)) us with band envelopes, "
      + "\(String(format2: wholeCapture * 1e6)) us with whole-spectrum ones (\(String(format2: bandCapture / wholeCapture))x)")

let fft = RealFFT(count: 1024)
var power: [Double] = []
var workspace: [Double] = []
let block = Array(signal[0..<1024])
let repetitions = 20_000
let perTransform = median(7) {
    seconds {
        block.withUnsafeBufferPointer { input in
            for _ in 0..<repetitions { fft.powerSpectrum(input, into: &power, workspace: &workspace) }
        }
    } / Double(repetitions)
}
print("1024-point real FFT (power spectrum): \(String(format2: perTransform * 1e6)) us (target <= 10 us)")

// int8 vs float32 latency of a 24-32-16-4 network, the shape of the reference vectors' network,
// with seeded random weights (the cost does not depend on their values).
func makeNetworks() -> (QuantizedNetwork, FloatNetwork, [[Double]]) {
    var random = SeededRandom(seed: 24)
    let widths = [24, 32, 16, 4]
    var layers: [QuantizedDense] = []
    var floats: [FloatNetwork.Layer] = []
    var input = QuantizationParameters(scale: 0.066, zeroPoint: -3)
    for (index, (inputs, outputs)) in zip(widths, widths.dropFirst()).enumerated() {
        let relu = index < widths.count - 2
        let output = QuantizationParameters(scale: 0.028, zeroPoint: relu ? -128 : 13)
        let weights = (0..<inputs * outputs).map { _ in Int8(truncatingIfNeeded: Int(random.next() % 255) - 127) }
        layers.append(QuantizedDense(inputs: inputs, outputs: outputs, weights: weights,
                                     bias: (0..<outputs).map { _ in Int32(random.next() % 2001) - 1000 },
                                     rescale: (0..<outputs).map { _ in QuantizedMultiplier(0.0005 + 0.0005 * random.uniform()) },
                                     input: input, output: output, activation: relu ? .relu : .none))
        floats.append(FloatNetwork.Layer(inputs: inputs, outputs: outputs, weights: weights.map { Float($0) / 127 },
                                         bias: (0..<outputs).map { _ in Float(random.gaussian() * 0.1) }, relu: relu))
        input = output
    }
    let inputs = (0..<64).map { _ in (0..<24).map { _ in random.gaussian() } }
    return (QuantizedNetwork(layers: layers), FloatNetwork(layers: floats), inputs)
}

let (int8Network, floatNetwork, testInputs) = makeNetworks()
func latency(_ predict: (UnsafeBufferPointer<Double>, inout [Double]) -> Void) -> Double {
    var output: [Double] = []
    let rounds = 20_000
    return median(7) {
        seconds {
            for round in 0..<rounds {
                testInputs[round & 63].withUnsafeBufferPointer { predict($0, &output) }
            }
        } / Double(rounds)
    }
}
let int8Latency = latency { int8Network.predict($0, into: &$1) }
let floatLatency = latency { floatNetwork.predict($0, into: &$1) }
print("24-32-16-4 network per window: int8 \(String(format2: int8Latency * 1e6)) us (target <= 1 us), float32 \(String(format2: floatLatency * 1e6)) us")

// Bundle size: the int8 bundle of that network, against the same container holding float32
// weights and biases instead (manifest, hash and signature alike).
let layerShapes = int8Network.layers.map {
    ModelManifest.Layer(inputs: $0.inputs, outputs: $0.outputs, activation: $0.activation, input: $0.input, output: $0.output)
}
let benchManifest = ModelManifest(
    name: "bench", version: "1.0.0", createdAt: "2026-01-01T00:00:00Z", deviceTypes: ["induction-motor"],
    inputs: (0..<24).map { ModelManifest.Input(sensor: "vibration", feature: "f\($0)", window: .count(size: 2048, hop: 2048)) },
    means: Array(repeating: 0, count: 24), scales: Array(repeating: 1, count: 24), classes: ["a", "b", "c", "d"], layers: layerShapes)
let int8Bundle = ModelBundle.encode(manifest: benchManifest, layers: int8Network.layers, signingKey: Ed25519.generate())
let int8Tensors = int8Network.layers.reduce(0) { $0 + $1.weights.count + 12 * $1.outputs }
let floatTensors = floatNetwork.layers.reduce(0) { $0 + 4 * ($1.weights.count + $1.bias.count) }
let floatBundle = int8Bundle.count - int8Tensors + floatTensors
let bundleRatio = String(format2: Double(floatBundle) / Double(int8Bundle.count))
let tensorRatio = String(format2: Double(floatTensors) / Double(int8Tensors))
print("bundle: int8 \(int8Bundle.count) bytes (tensors \(int8Tensors)), float32 \(floatBundle) bytes (tensors \(floatTensors)): \(bundleRatio)x smaller, tensors \(tensorRatio)x")

// Training time: an MLP (24 -> 16 -> 2) on 100,000 synthetic windows, 20 epochs at most.
var trainingRandom = SeededRandom(seed: 11)
let trainingSet = (0..<100_000).map { index -> (x: [Double], y: Int) in
    let label = index % 10 == 0 ? 1 : 0
    return ((0..<24).map { feature in trainingRandom.gaussian() + (label == 1 && feature < 6 ? 1.5 : 0) }, label)
}
let validationSet = Array(trainingSet.suffix(10_000))
var classifier = Classifier(inputs: 24, hidden: [16], classes: 2, seed: 1)
var trainedEpochs = 0
let trainingSeconds = seconds {
    classifier.train(Array(trainingSet.prefix(90_000)), validation: validationSet, epochs: 20, seed: 1) { trainedEpochs = $0.number }
}
print("training 90,000 + 10,000 windows, 24-16-2 MLP: \(String(format2: trainingSeconds)) s for \(trainedEpochs) epochs "
      + "(\(String(format2: trainingSeconds / Double(max(trainedEpochs, 1)))) s per epoch)")

// Upstream ingest into the trainer's SQLite store: decode and store 200 batches of 1,000 feature
// windows (12 features each) and 10 events.
let ingestFolder = "/tmp/vigil-bench-ingest-\(getpid())"
mkdir(ingestFolder, 0o755)
let upstreamStore = try! SQLiteUpstreamStore(path: ingestFolder + "/trainer.db")
let benchSet = UpstreamBatch.FeatureSet(id: 1, identity: FeatureSetIdentity(
    deviceType: "induction-motor", sensor: "vibration", window: .count(size: 2048, hop: 2048), names: (0..<12).map { "f\($0)" }))
let encodedBatches = (0..<200).map { sequence -> [UInt8] in
    let features = (0..<1_000).map { index -> UpstreamBatch.Feature in
        let start = Double(sequence * 1000 + index)
        let values = (0..<12).map { feature -> Double in Double(feature) * 0.37 + Double(index % 7) }
        return UpstreamBatch.Feature(device: "motor-\(index % 50)", set: 1, start: start, end: start + 0.17, count: 2048, values: values)
    }
    return UpstreamBatch(agent: "edge-1", epoch: "1", sequence: Int64(sequence), featureSets: [benchSet], features: features, events: []).encoded()
}
// The agent's side: encoding batches of measured-looking values (JSON, zlib), bytes per row.
var noise = SeededRandom(seed: 5)
let realistic = (0..<20).map { sequence in
    UpstreamBatch(agent: "edge-1", epoch: "1", sequence: Int64(sequence), featureSets: [benchSet], features: (0..<5_000).map { index in
        UpstreamBatch.Feature(device: "motor-\(index % 50)", set: 1, start: Double(index), end: Double(index) + 0.17, count: 2048,
                              values: (0..<12).map { _ in noise.uniform(-20...20) })
    }, events: [])
}
var encodedBytes = 0
let encodeSeconds = seconds { for batch in realistic { encodedBytes += batch.encoded().count } }
print("upstream batch encode: \(Int(Double(realistic.count * 5_000) / encodeSeconds)) rows/s, "
      + "\(String(format2: Double(encodedBytes) / Double(realistic.count * 5_000))) bytes per row of 12 values")
var ingestedRows = 0
let ingestSeconds = seconds {
    for bytes in encodedBatches {
        let batch = try! UpstreamBatch(bytes: bytes)
        _ = try! upstreamStore.store(batch)
        ingestedRows += batch.rowCount
    }
}
print("upstream ingest (decode + store): \(Int(Double(encodedBatches.count) / ingestSeconds)) batches/s, "
      + "\(Int(Double(ingestedRows) / ingestSeconds)) rows/s (target 200,000 rows/s)")
_ = try? FileSystem.list(ingestFolder).map { unlink(ingestFolder + "/" + $0) }
rmdir(ingestFolder)

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
