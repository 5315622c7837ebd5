#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilCore
import VigilInference

@Suite("Signed model bundles")
struct ModelBundleTests {
    static let key = Ed25519.generate()

    /// A bundle of a reference network: by default the double-rounding one, as older bundles hold.
    static func sample(_ file: String = "mlp_24_32_16_4.json", rounding: QuantizedMultiplier.Rounding = .double) throws
        -> (bytes: [UInt8], manifest: ModelManifest, network: QuantizedNetwork) {
        let (network, _, _) = try QuantVectorTests.network(file)
        let names = ["rms", "kurtosis", "peak", "crest_factor", "skewness", "std"]
        let inputs = (0..<24).map {
            ModelManifest.Input(sensor: "vibration", feature: names[$0 % names.count], window: .count(size: 2048, hop: 2048))
        }
        let manifest = ModelManifest(
            name: "bearing-health", version: "1.2.3", createdAt: "2026-11-27T00:00:00Z", deviceTypes: ["induction-motor"],
            inputs: inputs, means: Array(repeating: 0, count: 24), scales: Array(repeating: 1, count: 24),
            classes: ["healthy", "outer_race", "inner_race", "ball"],
            layers: network.layers.map { .init(inputs: $0.inputs, outputs: $0.outputs, activation: $0.activation, input: $0.input, output: $0.output) },
            rounding: rounding, lineage: ["agents": ["edge-01"], "rows": 1000], metrics: ["macro_f1": 0.91])
        return (ModelBundle.encode(manifest: manifest, layers: network.layers, signingKey: key), manifest, network)
    }

    static func refusal(_ bytes: [UInt8], keys: [[UInt8]] = [key.publicKey], maxBytes: Int = 1 << 20) -> BundleError? {
        do {
            _ = try ModelBundle(bytes: bytes, trustedKeys: keys, maxBytes: maxBytes)
            return nil
        } catch {
            return error
        }
    }

    /// A bundle carries its rounding: decoded, it computes every int8 output of the reference
    /// network exactly (the TensorFlow Lite interpreter's own, for the single-rounding one).
    @Test(arguments: [("mlp_24_32_16_4.json", QuantizedMultiplier.Rounding.double), ("tflite_mlp_24_32_16_4.json", .single)])
    func roundTrip(file: String, rounding: QuantizedMultiplier.Rounding) throws {
        let (bytes, manifest, network) = try Self.sample(file, rounding: rounding)
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [Self.key.publicKey])
        #expect(bundle.manifest == manifest)
        #expect(bundle.manifest.rounding == rounding)
        #expect(bundle.signer == Self.key.publicKey)
        #expect(bundle.networks.count == 1 && bytes[4] == 1)
        let root = try JSONObjectReader(file: QuantVectorTests.folder + "/" + file)
        guard case .array(let perLayer)? = root.value("expected_int8_per_layer") else { Issue.record("no expectations"); return }
        let last = QuantVectorTests.rows(perLayer.last)
        for (sample, input) in QuantVectorTests.rows(root.value("test_inputs_int8")).enumerated() {
            let output = input.map { Int8($0) }.withUnsafeBufferPointer { bundle.networks[0].run(int8: $0) }
            #expect(output == last[sample].map { Int8($0) }, "input \(sample)")
        }
        let input = (0..<24).map { Double($0) / 10 - 1 }
        var a: [Double] = [], b: [Double] = []
        input.withUnsafeBufferPointer { bundle.networks[0].predict($0, into: &a) }
        input.withUnsafeBufferPointer { network.predict($0, into: &b) }
        #expect(a == b)
    }

    @Test func everyRefusalHasItsReason() throws {
        let (bytes, _, _) = try Self.sample()
        #expect(Self.refusal(Array(bytes.prefix(bytes.count - 10))) == .truncated("signature"))
        var flipped = bytes
        flipped[40] ^= 0x10
        #expect(Self.refusal(flipped) == .hashMismatch)
        var magic = bytes
        magic[0] = UInt8(ascii: "X")
        #expect(Self.refusal(magic) == .wrongMagic)
        var unsigned = bytes
        for index in (bytes.count - 64)..<bytes.count { unsigned[index] = 0 }
        #expect(Self.refusal(unsigned) == .badSignature)
        #expect(Self.refusal(bytes, keys: [Ed25519.generate().publicKey]) == .untrustedKey(ModelBundle.hex(Self.key.publicKey)))
        #expect(Self.refusal(bytes, maxBytes: 1000) == .tooLarge(size: bytes.count, limit: 1000))
        var version = bytes
        version[4] = UInt8(ModelBundle.formatVersion + 1)
        #expect(Self.refusal(version) == .unsupportedVersion(ModelBundle.formatVersion + 1))
    }

    /// A bundle that bounds its standardised inputs with asinh is format 2 (agents before it
    /// refuse it rather than score unbounded inputs), says so in its manifest, and scores exactly
    /// as its network does on the bounded inputs; one without stays format 1.
    @Test func squashedInputsAreBoundedAndMarked() throws {
        let (plain, manifest, network) = try Self.sample()
        #expect(plain[4] == 1 && plain[5] == 0, "format 1 without a squash")
        var squashed = manifest
        squashed.squash = .asinh
        squashed.means = Array(repeating: 0.5, count: 24)
        squashed.scales = Array(repeating: 2, count: 24)
        let bytes = ModelBundle.encode(manifest: squashed, layers: network.layers, signingKey: Self.key)
        #expect(bytes[4] == 2 && bytes[5] == 0)
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [Self.key.publicKey])
        #expect(bundle.manifest.squash == .asinh && bundle.manifest == squashed)
        let raw = (0..<24).map { Double($0 * $0) - 40 }
        var scratch: [Double] = [], output: [Double] = [], expected: [Double] = []
        bundle.probabilities(raw: raw, scratch: &scratch, into: &output)
        let bounded = raw.map { asinh(($0 - 0.5) / 2) }
        bounded.withUnsafeBufferPointer { network.predict($0, into: &expected) }
        Activations.softmax(&expected)
        #expect(output == expected)
        #expect(scratch.max()! < 6.5 && scratch == bounded, "a reading 244 scales out goes in as 6.2")
    }

    /// An ensemble is format 4 (agents before it refuse it rather than score one member), holds
    /// its members' layers one after another, and scores the mean of their probabilities; a
    /// manifest whose layers do not split into its members is refused.
    @Test func ensembleScoresItsMembersMean() throws {
        let (_, manifest, network) = try Self.sample()
        // A second member: the same shape, other biases.
        let other = network.layers.map { layer in
            QuantizedDense(inputs: layer.inputs, outputs: layer.outputs, weights: layer.weights, bias: layer.bias.enumerated().map { $1 + Int32($0 * 40) },
                           rescale: layer.rescale, input: layer.input, output: layer.output, activation: layer.activation)
        }
        var ensemble = manifest
        ensemble.layers += manifest.layers
        ensemble.members = 2
        let bytes = ModelBundle.encode(manifest: ensemble, layers: network.layers + other, signingKey: Self.key)
        #expect(bytes[4] == 4 && bytes[5] == 0)
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [Self.key.publicKey])
        #expect(bundle.manifest == ensemble && bundle.networks.count == 2)
        let raw = (0..<24).map { Double($0 % 7) - 3 }
        var scratch: [Double] = [], output: [Double] = [], first: [Double] = [], second: [Double] = []
        bundle.probabilities(raw: raw, scratch: &scratch, into: &output)
        raw.withUnsafeBufferPointer { network.predict($0, into: &first) }
        raw.withUnsafeBufferPointer { QuantizedNetwork(layers: other).predict($0, into: &second) }
        Activations.softmax(&first)
        Activations.softmax(&second)
        #expect(first != second, "the members differ")
        for index in output.indices { #expect(abs(output[index] - (first[index] + second[index]) / 2) < 1e-12) }
        var uneven = ensemble
        uneven.members = 4
        guard case .manifestInvalid(let reason)? = Self.refusal(ModelBundle.encode(manifest: uneven, layers: network.layers + other, signingKey: Self.key)) else {
            Issue.record("a manifest of 6 layers for 4 members was not refused")
            return
        }
        #expect(reason.contains("members"))
    }

    /// A correctly signed bundle whose tensors do not fit its manifest is still refused.
    @Test func misshapedTensorsAreRefused() throws {
        let (_, manifest, network) = try Self.sample()
        var layers = network.layers
        let last = layers.removeLast()
        layers.append(QuantizedDense(inputs: last.inputs, outputs: last.outputs - 1, weights: Array(last.weights.dropLast(last.inputs)),
                                     bias: Array(last.bias.dropLast()), rescale: Array(last.rescale.dropLast()),
                                     input: last.input, output: last.output, activation: last.activation))
        let bytes = ModelBundle.encode(manifest: manifest, layers: layers, signingKey: Self.key)
        guard case .tensorsMisshaped? = Self.refusal(bytes) else {
            Issue.record("misshaped tensors were not refused: \(String(describing: Self.refusal(bytes)))")
            return
        }
    }

    @Test func refusesFeaturesTheProfileCannotProduce() throws {
        let (bytes, _, _) = try Self.sample()
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [Self.key.publicKey])
        let folder = String(#filePath.split(separator: "/Tests/").first!) + "/devices"
        let motor = try #require(try DeviceProfile.loadAll(folder: folder).first { $0.type == "induction-motor" })
        #expect(throws: BundleError.self) { try bundle.check(against: motor) }   // no "std" over 2048 in the profile
        let pump = try #require(try DeviceProfile.loadAll(folder: folder).first { $0.type == "centrifugal-pump" })
        #expect(throws: BundleError.featureUnavailable("the model serves induction-motor, not centrifugal-pump")) {
            try bundle.check(against: pump)
        }
    }

    /// Hundreds of thousands of mutated bundles (flips, cuts, insertions; and re-signed ones, so
    /// the manifest and tensor parsers see garbage too): each is refused, none crashes.
    @Test func fuzzedBundlesAreRefusedWithoutACrash() throws {
        let (bytes, _, _) = try Self.sample()
        var random = SystemRandomNumberGenerator()
        var accepted = 0
        for round in 0..<200_000 {
            var mutated = bytes
            switch round % 3 {
            case 0: mutated[Int.random(in: 0..<mutated.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            case 1: mutated.removeLast(Int.random(in: 1..<mutated.count, using: &random))
            default: mutated.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0..<mutated.count, using: &random))
            }
            if Self.refusal(mutated) == nil { accepted += 1 }
        }
        #expect(accepted == 0)
        // Re-signed garbage in the manifest and tensors.
        let body = Array(bytes.prefix(bytes.count - 128))
        for _ in 0..<3_000 {
            var mutated = body
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                mutated[Int.random(in: 12..<mutated.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            let hash = mutated.withUnsafeBytes { Ed25519.sha256($0) }
            mutated += hash + Self.key.publicKey + Ed25519.sign(hash, privateKey: Self.key.privateKey)!
            _ = Self.refusal(mutated)
        }
    }
}

@Suite("Alarm policy")
struct AlarmPolicyTests {
    /// Two windows in a row at the threshold raise the alarm; two in a row below clear it; a
    /// single window either way changes nothing.
    @Test func hysteresisRaisesAndClearsOnRuns() {
        let policy = AlarmPolicy(threshold: 0.7, consecutive: 2)
        var state = AlarmPolicy.State()
        let alarms = [0.8, 0.6, 0.8, 0.9, 0.4, 0.8, 0.3, 0.2].map { state.next($0, policy: policy) }
        #expect(alarms == [false, false, false, true, true, true, true, false])
        var single = AlarmPolicy.State()
        #expect([0.4, 0.5, 0.49].map { single.next($0, policy: .single) } == [false, true, false])
    }

    /// A bundle carries its policy; one without a policy gets the single-window one.
    @Test func bundlesCarryThePolicy() throws {
        let (_, manifest, network) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        var withPolicy = manifest
        withPolicy.alarm = AlarmPolicy(threshold: 0.65, consecutive: 3)
        let bytes = ModelBundle.encode(manifest: withPolicy, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect(try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey]).manifest.alarm == withPolicy.alarm)
        #expect(manifest.alarm == .single)
    }
}

@Suite("Input drift")
struct DriftMonitorTests {
    /// Inputs drawn like the training data keep every PSI small; a shifted input stands out and
    /// the others do not; old windows leave the ring.
    @Test func psiSeesAShiftedInputAndForgetsOldWindows() throws {
        var random = SystemRandomNumberGenerator()
        func normal() -> Double {
            let u = Double.random(in: Double.ulpOfOne..<1, using: &random), v = Double.random(in: 0..<1, using: &random)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        let training = (0..<5_000).map { _ in [normal(), normal()] }
        var monitor = DriftMonitor(edges: [DriftMonitor.deciles(training.map { $0[0] }), DriftMonitor.deciles(training.map { $0[1] })],
                                   capacity: 500)
        #expect(monitor.psi == nil)
        for _ in 0..<500 { monitor.observe([normal(), normal()]) }
        let same = try #require(monitor.psi)
        #expect(same.allSatisfy { $0 < 0.1 }, "\(same)")
        for _ in 0..<500 { monitor.observe([normal() + 1.5, normal()]) }
        let shifted = try #require(monitor.psi)
        #expect(shifted[0] > 0.25 && shifted[1] < 0.1, "\(shifted)")
        #expect(monitor.windows == 500)
    }
}

@Suite("Input context")
struct InputContextTests {
    static let context = InputContext(baselineSeconds: 3_600, trendSeconds: 8 * 3_600)
    static let leveled = InputContext(baselineSeconds: 3_600, trendSeconds: 8 * 3_600, level: true)
    /// The network's trends at 2 h, the anomaly score's at 8 h.
    static let paced = InputContext(baselineSeconds: 3_600, trendSeconds: 8 * 3_600, networkTrendSeconds: 2 * 3_600, level: true)

    /// Runs windows every 600 s through one state; nil where it abstained.
    static func run(_ values: [[Double]], context: InputContext = context) -> [[Double]?] {
        var state = InputContext.State()
        var inputs: [Double] = []
        return values.enumerated().map { index, raw in
            state.next(raw, at: 600 * Double(index + 1), context: context, into: &inputs) ? inputs : nil
        }
    }

    /// Abstains until the baseline's hour has passed (seven windows: 600 to 4,200 s), then gives
    /// raw, relative ((x - mean) / (|mean| + std)) and trend inputs.
    @Test func theBaselineComesFirstThenRelativeAndTrend() throws {
        let healthy = (0..<7).map { [10 + Double($0 % 2), -2.0] }   // mean 10.43, std 0.49; mean -2, std 0
        let outputs = Self.run(healthy + [[12, -2], [14, -2], [16, -2]])
        #expect(outputs.prefix(7).allSatisfy { $0 == nil })
        let first = try #require(outputs[7])
        #expect(first.count == Self.context.width(raw: 2))
        let mean = 73.0 / 7, std = (healthy.map { pow($0[0] - mean, 2) }.reduce(0, +) / 7).squareRoot()
        #expect(abs(first[2] - (12 - mean) / (mean + std)) < 1e-12)
        #expect(first[3] == 0, "an input at its baseline is 0 relative to it")
        // A rising input's trend grows and is positive; a steady one's stays 0.
        let trends = outputs.suffix(3).map { $0![4] }
        #expect(trends[0] > 0 && trends[1] > trends[0] && trends[2] > trends[1], "\(trends)")
        #expect(outputs.suffix(3).allSatisfy { $0![5] == 0 })
    }

    /// Each derived input lies where its name says, with growth and level, growth alone, and
    /// neither (the layout that putting a sensor at healthy and the anomaly score's range rely on).
    @Test func derivedInputsLieWhereTheirNamesSay() throws {
        let raw = ["a", "b", "c"]
        let contexts = [Self.context, Self.leveled, InputContext(baselineSeconds: 3_600, trendSeconds: 8 * 3_600, growth: false, level: true),
                        Self.paced]
        #expect(!contexts[2].level, "no level without growth: the level is the change whose trend the growth is")
        for context in contexts {
            let names = InputContext.names(raw, for: context)
            #expect(names.count == context.width(raw: 3))
            for (index, name) in raw.enumerated() {
                let kinds = ["relative", "trend"] + (context.growth ? ["growth"] : []) + (context.level ? ["level"] : []) + (context.paced ? ["pace"] : [])
                let derived = kinds.map { "\(name):\($0)" }
                #expect(context.positions(of: index, raw: 3).map { names[$0] } == [name] + derived)
            }
            let relativeAndTrend = InputContext.relativeAndTrend(raw: 3)
            #expect(names[relativeAndTrend] == ["a:relative", "b:relative", "c:relative", "a:trend", "b:trend", "c:trend"])
        }
    }

    /// With a time constant of its own, the network takes each input's pace (its relative value's
    /// trend at that constant) and a growth at that constant, and not the trend, which stays at
    /// the anomaly score's: each the same as one context with that one constant would give.
    @Test func theNetworksTrendsHaveAClockOfTheirOwn() throws {
        let values = (0..<60).map { [10 + Double($0 % 2) + 0.02 * pow(Double(max(0, $0 - 6)), 2), 3.0] }
        let slow = InputContext(baselineSeconds: 3_600, trendSeconds: 8 * 3_600, level: true)
        let fast = InputContext(baselineSeconds: 3_600, trendSeconds: 2 * 3_600, level: true)
        let paced = Self.run(values, context: Self.paced), slowRun = Self.run(values, context: slow), fastRun = Self.run(values, context: fast)
        var compared = 0
        for ((p, s), f) in zip(zip(paced, slowRun), fastRun) {
            guard let p, let s, let f else { #expect(p == nil && s == nil && f == nil); continue }
            // raw 0-1, relative 2-3, trend 4-5, growth 6-7, level 8-9, pace 10-11.
            #expect(p.count == Self.paced.width(raw: 2) && p.count == 12)
            #expect(Array(p[0..<6]) == Array(s[0..<6]), "raw, relative and the anomaly score's trend at 8 h")
            #expect(Array(p[6..<8]) == Array(f[6..<8]), "growth at the network's 2 h")
            #expect(Array(p[8..<10]) == Array(s[8..<10]), "the level is no average")
            #expect(Array(p[10..<12]) == Array(f[4..<6]), "the pace is the trend at 2 h")
            compared += 1
        }
        #expect(compared == 53)
        let rising = try #require(paced.last ?? nil)
        #expect(rising[4] != rising[10] && rising[10] > 0, "two trends of a rising input: \(rising)")
        // The network leaves the trend out (the anomaly score reads it) and takes the pace.
        #expect((0..<12).map { Self.paced.takes(input: $0, raw: 2) } == [true, true, true, true, false, false] + Array(repeating: true, count: 6))
        #expect(!Self.leveled.paced && (2..<10).allSatisfy { Self.leveled.takes(input: $0, raw: 2) })
    }

    /// Relative, trend and growth inputs do not change when a sensor reads 25% high throughout.
    @Test func aSensorsGainCancels() throws {
        let values = (0..<12).map { [5 + sin(Double($0)) + Double(max(0, $0 - 8)), 1.0] }
        let plain = Self.run(values), scaled = Self.run(values.map { [$0[0] * 1.25, $0[1]] })
        for (a, b) in zip(plain, scaled) {
            guard let a, let b else { #expect(a == nil && b == nil); continue }
            #expect(abs(a[2] - b[2]) < 1e-12 && abs(a[4] - b[4]) < 1e-12 && abs(a[6] - b[6]) < 1e-9)
        }
    }

    /// Growth follows how fast a change grows, not how far it has gone: two machines whose change
    /// grows at one rate from amplitudes ten times apart get the same growth, a faster one a larger
    /// growth; their trends (of the relative value) differ tenfold.
    @Test func growthFollowsTheGrowthRate() throws {
        // Windows every 600 s; the baseline's hour alternates 10 and 11, then the change grows as
        // amplitude * e^(rate * hours) for two days. Inputs: raw, relative, trend, growth.
        func last(amplitude: Double, ratePerHour: Double) -> (trend: Double, growth: Double) {
            var state = InputContext.State(), inputs: [Double] = [], last = (trend: Double.nan, growth: Double.nan)
            for index in 0..<(7 + 288) {
                let hours = Double(max(0, index - 6)) / 6
                let value = index < 7 ? 10 + Double(index % 2) : 10.5 + amplitude * exp(ratePerHour * hours)
                if state.next([value], at: 600 * Double(index + 1), context: Self.context, into: &inputs) { last = (inputs[2], inputs[3]) }
            }
            return last
        }
        let small = last(amplitude: 0.5, ratePerHour: 0.05), large = last(amplitude: 5, ratePerHour: 0.05)
        let faster = last(amplitude: 0.5, ratePerHour: 0.1)
        // Settled, the fast average lags the slow one by 7 hours of growth: 0.35 at 0.05 an hour.
        #expect(abs(small.growth - large.growth) < 0.02 && abs(small.growth - 0.35) < 0.03, "\(small) \(large)")
        #expect(faster.growth > 1.8 * small.growth, "\(faster) \(small)")
        #expect(abs(large.trend / small.trend - 10) < 0.01, "\(small) \(large)")
    }

    /// The level is the change whose trend the growth is, so the two give the hours until a
    /// change growing exponentially reaches a failing size: (level there - level now) / rate,
    /// the rate being the growth over the 7 hours the fast average leads the slow one by. Checked
    /// for machines whose change starts four times apart and grows at two rates.
    @Test func levelAndGrowthGiveTheHoursToAFailingSize() throws {
        // Windows every 600 s; the baseline's hour alternates 10 and 11, then the change grows as
        // amplitude * e^(rate * hours) from 10.5. Inputs: raw, relative, trend, growth, level.
        // Failing: 60.5.
        let mean = 73.0 / 7, deviation = ((4 * pow(10 - mean, 2) + 3 * pow(11 - mean, 2)) / 7).squareRoot()
        for (amplitude, ratePerHour) in [(0.5, 0.04), (2, 0.04), (0.5, 0.08)] {
            var state = InputContext.State(), inputs: [Double] = []
            var checked = 0
            for index in 0..<(7 + 6 * 120) {
                let hours = Double(max(0, index - 6)) / 6
                let value = index < 7 ? 10 + Double(index % 2) : 10.5 + amplitude * exp(ratePerHour * hours)
                guard state.next([value], at: 600 * Double(index + 1), context: Self.leveled, into: &inputs) else { continue }
                #expect(inputs.count == 5 && abs(inputs[4] - asinh((value - mean) / deviation)) < 1e-9, "the level is the change itself")
                let hoursLeft = log(50 / amplitude) / ratePerHour - hours
                // Once the averages have forgotten the start (a day and a half), while the failing
                // size lies ahead.
                guard hours >= 36, hoursLeft > 0 else { continue }
                let estimate = (asinh((60.5 - mean) / deviation) - inputs[4]) / (inputs[3] / 7)
                #expect(abs(estimate - hoursLeft) < 0.1 * hoursLeft + 1, "amplitude \(amplitude), rate \(ratePerHour), at \(hours) h: \(estimate) against \(hoursLeft)")
                checked += 1
            }
            #expect(checked > 10)
        }
    }

    /// The reference sample's first two inputs with `context`, every network input standardised
    /// by `mean` and `scale`, and one dense layer of ones: its manifest and signed bundle.
    static func twoInputBundle(_ context: InputContext, mean: Double = 0, scale: Double = 1) throws -> (ModelManifest, [UInt8]) {
        let (_, sample, _) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        let parameters = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let width = context.width(raw: 2)
        let layer = QuantizedDense(inputs: width, outputs: 4, weights: Array(repeating: 1, count: 4 * width), bias: Array(repeating: 0, count: 4),
                                   rescale: Array(repeating: QuantizedMultiplier(0.01), count: 4), input: parameters, output: parameters, activation: .none)
        var manifest = sample
        manifest.context = context
        manifest.inputs = Array(sample.inputs.prefix(2))
        manifest.means = Array(repeating: mean, count: width)
        manifest.scales = Array(repeating: scale, count: width)
        manifest.layers = [.init(inputs: width, outputs: 4, activation: .none, input: parameters, output: parameters)]
        return (manifest, ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: ModelBundleTests.key))
    }

    /// A bundle whose inputs have levels is format 6, which agents before it refuse rather than
    /// score without them, and reads back with them; a manifest that asks for levels without
    /// growth is refused with a reason that names it.
    @Test func levelTravelsWithTheBundle() throws {
        // Two raw inputs, each with its relative, trend, growth and level values.
        let (_, bytes) = try Self.twoInputBundle(Self.leveled)
        #expect(bytes[4] == 6 && bytes[5] == 0)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("network_trend_seconds"), "one trend, as bundles before format 8")
        let read = try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey]).manifest
        #expect(read.context == Self.leveled && read.networkInputNames.suffix(2) == ["vibration.rms:level", "vibration.kurtosis:level"])
        let withoutGrowth = Self.resigned(bytes) { $0.replacing(#""growth":true"#, with: #""growth":false"#) }
        #expect {
            try ModelBundle(bytes: withoutGrowth, trustedKeys: [ModelBundleTests.key.publicKey])
        } throws: { "\($0)".contains("level") && "\($0)".contains("needs growth") }
    }

    /// A network that leaves the absolute inputs out takes them as 0, whatever the window, and
    /// every derived input as before; its bundle is format 7 (an older agent would feed them in),
    /// and manifests from before the choice read back as taking them.
    @Test func absoluteInputsCanBeLeftOut() throws {
        let (_, sample, network) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        var manifest = sample
        manifest.context = InputContext(baselineSeconds: 3_600, trendSeconds: 8 * 3_600, absolute: false)
        manifest.inputs = Array(sample.inputs.prefix(6))
        manifest.means = Array(repeating: 1, count: 24)
        manifest.scales = Array(repeating: 2, count: 24)
        #expect((0..<6).allSatisfy { manifest.standardised(7, input: $0) == 0 })
        #expect((6..<24).allSatisfy { manifest.standardised(7, input: $0) == 3 })
        let bytes = ModelBundle.encode(manifest: manifest, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect(bytes[4] == 7 && bytes[5] == 0)
        let read = try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey]).manifest
        #expect(read.context == manifest.context && read.standardised(7, input: 0) == 0)
        let older = Self.resigned(bytes) { $0.replacing(#","absolute":false"#, with: "") }
        let taking = try ModelBundle(bytes: older, trustedKeys: [ModelBundleTests.key.publicKey]).manifest
        #expect(taking.context?.absolute == true && taking.standardised(7, input: 0) == 3)
    }

    /// A bundle whose network's trends have a time constant of their own is format 8 (an older
    /// agent would feed the network the anomaly score's trend and no pace) and reads back with it;
    /// a time constant that is not positive is refused with a reason that names it.
    @Test func theNetworksTrendTravelsWithTheBundle() throws {
        // Two raw inputs, each with its relative, trend, growth, level and pace values.
        let (manifest, bytes) = try Self.twoInputBundle(Self.paced, mean: 1, scale: 2)
        #expect(manifest.standardised(7, input: 4) == 0 && manifest.standardised(7, input: 10) == 3, "the trend is 0 to the network, the pace not")
        #expect(bytes[4] == 8 && bytes[5] == 0)
        let read = try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey]).manifest
        #expect(read.context == Self.paced && read.networkInputNames.suffix(2) == ["vibration.rms:pace", "vibration.kurtosis:pace"])
        let zero = Self.resigned(bytes) { $0.replacing(#""network_trend_seconds":7200"#, with: #""network_trend_seconds":0"#) }
        #expect {
            try ModelBundle(bytes: zero, trustedKeys: [ModelBundleTests.key.publicKey])
        } throws: { "\($0)".contains("network_trend_seconds") && "\($0)".contains("must be positive") }
    }

    /// A bundle whose inputs have growth is format 3, which agents before it refuse rather than
    /// score without it; one without stays format 1 and reads back without growth, as do
    /// manifests written before there was growth (no such field).
    @Test func growthTravelsWithTheBundle() throws {
        let (_, manifest, network) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        var grown = manifest
        grown.context = Self.context
        // The reference network takes 24 values: 6 inputs with their relative, trend and growth values.
        grown.inputs = Array(manifest.inputs.prefix(6))
        let bytes = ModelBundle.encode(manifest: grown, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect(bytes[4] == 3 && bytes[5] == 0)
        let read = try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey]).manifest
        #expect(read.context == Self.context && read.networkInputNames.suffix(6).allSatisfy { $0.hasSuffix(":growth") })
        var plain = manifest
        plain.context = InputContext(baselineSeconds: 3_600, trendSeconds: 8 * 3_600, growth: false)
        plain.inputs = Array(manifest.inputs.prefix(8))
        let plainBytes = ModelBundle.encode(manifest: plain, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect(plainBytes[4] == 1, "without growth, nothing newer than format 1 is needed")
        let older = Self.resigned(plainBytes) { $0.replacing(#","growth":false"#, with: "") }
        #expect(!String(decoding: older, as: UTF8.self).contains("growth"))
        #expect(try ModelBundle(bytes: older, trustedKeys: [ModelBundleTests.key.publicKey]).manifest.context == plain.context)
    }

    /// A stuck sensor's growth is put at 0 (a healthy machine's change does not grow), its other
    /// inputs where healthy windows have them; the anomaly score covers relative and trend only.
    @Test func aStuckSensorsGrowthIsPutAtZero() throws {
        let (_, manifest, network) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        var grown = manifest
        grown.context = Self.context
        grown.inputs = Array(SensorDriftCheckTests.inputs.prefix(6))
        grown.means = (0..<24).map { Double($0) }
        grown.anomaly = AnomalyScore(firstInput: 6, centers: (0..<12).map { 0.1 * Double($0) }, scales: Array(repeating: 0.01, count: 12),
                                     alarm: .single)
        let bundle = try ModelBundle(bytes: ModelBundle.encode(manifest: grown, layers: network.layers, signingKey: ModelBundleTests.key),
                                     trustedKeys: [ModelBundleTests.key.publicKey])
        var inputs = (0..<24).map { 100 + Double($0) }, state = SensorDriftCheck.State()
        #expect(bundle.trusted(&inputs, stuck: ["current"], drift: &state, at: 0).isEmpty)
        var expected = (0..<24).map { 100 + Double($0) }
        for (input, healthy) in [(2, 2.0), (3, 3), (8, 0.2), (9, 0.3), (14, 0.8), (15, 0.9), (20, 0), (21, 0)] { expected[input] = healthy }
        #expect(inputs.indices.allSatisfy { abs(inputs[$0] - expected[$0]) < 1e-12 }, "\(inputs)")
        var covering = grown
        covering.anomaly = AnomalyScore(firstInput: 6, centers: Array(repeating: 0, count: 18), scales: Array(repeating: 1, count: 18), alarm: .single)
        let refused = ModelBundle.encode(manifest: covering, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(refused)))".contains("growth and level inputs aside"))
    }

    /// `bytes` with its manifest JSON changed by `edit`, signed again by the test key.
    static func resigned(_ bytes: [UInt8], edit: (String) -> String) -> [UInt8] {
        func integer(at offset: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) } }
        let length = integer(at: 8)
        let json = Array(edit(String(decoding: bytes[12..<(12 + length)], as: UTF8.self)).utf8)
        let tensorsStart = 12 + length
        let tensorsEnd = tensorsStart + 4 + integer(at: tensorsStart)
        var edited = Array(bytes[0..<8])
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { edited += $0 }
        edited += json + bytes[tensorsStart..<tensorsEnd]
        let hash = edited.withUnsafeBytes { Ed25519.sha256($0) }
        return edited + hash + ModelBundleTests.key.publicKey + Ed25519.sign(hash, privateKey: ModelBundleTests.key.privateKey)!
    }

    /// A bundle carries its context, and one whose standardisation does not cover the derived
    /// inputs is refused.
    @Test func bundlesCarryTheContext() throws {
        let (_, manifest, network) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        var withContext = manifest
        withContext.context = InputContext(baselineSeconds: 3_600, trendSeconds: 8 * 3_600, growth: false)
        // The reference network takes 24 values: 8 inputs with their relative and trend values.
        withContext.inputs = Array(manifest.inputs.prefix(8))
        let bytes = ModelBundle.encode(manifest: withContext, layers: network.layers, signingKey: ModelBundleTests.key)
        let read = try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey]).manifest
        #expect(read.context == withContext.context && read.networkInputs == 24)
        withContext.inputs = manifest.inputs
        let wrong = ModelBundle.encode(manifest: withContext, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(wrong)))".contains("network input"))
    }
}

@Suite("Degradation clock")
struct DegradationClockTests {
    /// Two raw inputs: the size (0), as a motor's current, and the rate (1), as a vibration band.
    static let clock = DegradationClock(size: 0, rates: [1], seconds: 4 * 3_600, weights: [-2, 1, 20])

    /// Windows every 600 s through the context and the clock: the baseline's hour alternates 10
    /// and 11 on both inputs, then input 1 grows as 0.5 e^(rate * hours) from 10.5 and input 0
    /// as its square a tenth as large (a size that rises late, as a current does), for 60 hours.
    /// Per window after the baseline: the hours since, the relative size and the clock's measure.
    static func run(ratePerHour: Double) -> [(hours: Double, relative: Double, measured: (logSize: Double, rate: Double)?)] {
        var context = InputContext.State(), state = DegradationClock.State(), inputs: [Double] = []
        var windows: [(hours: Double, relative: Double, measured: (logSize: Double, rate: Double)?)] = []
        for index in 0..<(7 + 6 * 60) {
            let hours = Double(max(0, index - 6)) / 6
            let growth = 0.5 * exp(ratePerHour * hours)
            let raw = index < 7 ? [10 + Double(index % 2), 10 + Double(index % 2)] : [10.5 + growth * growth / 10, 10.5 + growth]
            guard context.next(raw, at: 600 * Double(index + 1), context: InputContextTests.leveled, into: &inputs) else { continue }
            let measured = Self.clock.measure(inputs, raw: 2, context: InputContextTests.leveled, at: 600 * Double(index + 1), state: &state)
            windows.append((hours, inputs[2], measured))
        }
        return windows
    }

    /// The clock answers once the size has risen over 3 baseline deviations, with the log of its
    /// relative value and the rate input's growth in log units per hour, once the moving averages
    /// have settled.
    @Test func theClockMeasuresTheSizeAndTheGrowthOfTheRate() {
        for ratePerHour in [0.05, 0.1] {
            let windows = Self.run(ratePerHour: ratePerHour)
            // The baseline's mean is 10.43, its deviation 0.49: the size has risen 1.48 over the
            // mean, a relative 0.136 (in |mean| + deviation); the rate input has long before.
            #expect(windows.allSatisfy { $0.relative < 0.13 ? $0.measured == nil : $0.relative < 0.14 || $0.measured != nil })
            let settled = windows.filter { $0.hours >= 30 }.compactMap { window in window.measured.map { (window, $0) } }
            #expect(settled.count > 10, "rate \(ratePerHour)")
            for (window, measured) in settled {
                #expect(abs(measured.logSize - log(window.relative)) < 1e-12)
                #expect(abs(measured.rate - ratePerHour) < 0.1 * ratePerHour, "rate \(ratePerHour) at \(window.hours) h: \(measured.rate)")
            }
        }
    }

    /// The clock's probability of failing takes the failing classes' place, each keeping its
    /// share of them, the others sharing the rest as they did; with none to share, evenly.
    @Test func theClocksProbabilityTakesTheFailingClassesPlace() {
        let classes = ["healthy", "soon", "failing:outer_race", "failing:inner_race"]
        var probabilities = [0.5, 0.3, 0.15, 0.05]
        DegradationClock.apply(0.8, to: &probabilities, classes: classes)
        #expect(zip(probabilities, [0.125, 0.075, 0.6, 0.2]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(probabilities)")
        var healthy = [1.0, 0, 0, 0]
        DegradationClock.apply(0.3, to: &healthy, classes: classes)
        #expect(zip(healthy, [0.7, 0, 0.15, 0.15]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(healthy)")
        #expect(abs(Self.clock.probability((log(0.5), 0.2)) - 1 / (1 + exp(-(-2 + log(0.5) + 4)))) < 1e-12)
    }

    /// A bundle with a clock is format 9 (an older agent would score the networks alone), reads
    /// back with it, and puts its probability in the networks' place where it measures, as the
    /// agent and `evaluate` score; a clock on inputs the bundle lacks, or without levels to read,
    /// is refused with a reason that names it.
    @Test func bundlesCarryTheClockAndScoreWithIt() throws {
        var (manifest, _) = try InputContextTests.twoInputBundle(InputContextTests.leveled)
        manifest.classes = ["healthy", "soon", "failing", "failing:ball"]
        manifest.clock = Self.clock
        let parameters = QuantizationParameters(scale: 0.05, zeroPoint: 0)
        let width = InputContextTests.leveled.width(raw: 2)
        let layer = QuantizedDense(inputs: width, outputs: 4, weights: Array(repeating: 1, count: 4 * width), bias: Array(repeating: 0, count: 4),
                                   rescale: Array(repeating: QuantizedMultiplier(0.01), count: 4), input: parameters, output: parameters, activation: .none)
        let bytes = ModelBundle.encode(manifest: manifest, layers: [layer], signingKey: ModelBundleTests.key)
        #expect(manifest.format == 9 && bytes[4] == 9)
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey])
        #expect(bundle.manifest.clock == Self.clock)
        // Scored window after window: the networks' probabilities where the clock does not
        // answer, the clock's probability of failing where it does.
        var context = InputContext.State(), state = DegradationClock.State(), reference = DegradationClock.State()
        var inputs: [Double] = [], scratch: [Double] = [], output: [Double] = [], answered = 0
        for index in 0..<(7 + 6 * 60) {
            let growth = 0.5 * exp(0.08 * Double(max(0, index - 6)) / 6)
            let raw = index < 7 ? [10 + Double(index % 2), 10 + Double(index % 2)] : [10.5 + growth * growth / 10, 10.5 + growth]
            let time = 600 * Double(index + 1)
            guard context.next(raw, at: time, context: InputContextTests.leveled, into: &inputs) else { continue }
            bundle.probabilities(raw: inputs, scratch: &scratch, into: &output)
            let networks = output
            let failing = bundle.clocked(&output, inputs: inputs, at: time, state: &state)
            let measured = Self.clock.measure(inputs, raw: 2, context: InputContextTests.leveled, at: time, state: &reference)
            #expect((failing == nil) == (measured == nil))
            if let measured {
                answered += 1
                #expect(failing == Self.clock.probability(measured) && abs(bundle.trouble(output) - failing!) < 1e-12)
            } else {
                #expect(output == networks)
            }
        }
        #expect(answered > 100)
        for (from, to, reason) in [(#""rates":[1]"#, #""rates":[2]"#, "rates"), (#""weights":[-2,1,20]"#, #""weights":[-2,1]"#, "three finite weights")] {
            let refused = InputContextTests.resigned(bytes) { $0.replacing(from, with: to) }
            #expect("\(try #require(ModelBundleTests.refusal(refused)))".contains(reason), "\(to)")
        }
        var withoutLevels = manifest
        withoutLevels.context = InputContextTests.context
        withoutLevels.means = Array(repeating: 0, count: InputContextTests.context.width(raw: 2))
        withoutLevels.scales = withoutLevels.means.map { _ in 1 }
        withoutLevels.layers = [.init(inputs: withoutLevels.means.count, outputs: 4, activation: .none, input: parameters, output: parameters)]
        let unlevelled = QuantizedDense(inputs: withoutLevels.means.count, outputs: 4, weights: Array(repeating: 1, count: 4 * withoutLevels.means.count),
                                        bias: Array(repeating: 0, count: 4), rescale: Array(repeating: QuantizedMultiplier(0.01), count: 4),
                                        input: parameters, output: parameters, activation: .none)
        let refused = ModelBundle.encode(manifest: withoutLevels, layers: [unlevelled], signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(refused)))".contains("clock needs a context with levels"))
    }
}

@Suite("Anomaly score")
struct AnomalyScoreTests {
    static let score = AnomalyScore(centers: [10, 0, 5], scales: [2, 1, 0.5], alarm: AlarmPolicy(threshold: 0.8, consecutive: 3))

    /// From `firstInput` on: the inputs before it do not count.
    @Test func onlyTheInputsFromTheFirstOneCount() {
        let later = AnomalyScore(firstInput: 2, centers: [10, 0, 5], scales: [2, 1, 0.5], alarm: Self.score.alarm)
        #expect(later.level([1e9, -1e9, 14, -1, 5]) == Self.score.level([14, -1, 5]))
    }

    /// The mean square of the inputs in healthy spreads, from int8 steps of 8/127, as a level s / (1 + s).
    @Test func theLevelIsTheMeanSquareInHealthySpreads() {
        #expect(Self.score.level([10, 0, 5]) == 0)
        // 2, 1 and 0 spreads: mean square 5/3 (each quantized to a multiple of 8/127 first).
        let step = 8.0 / 127
        let quantized = [(2 / step).rounded() * step, (1 / step).rounded() * step]
        let meanSquare = quantized.map { $0 * $0 }.reduce(0, +) / 3
        #expect(abs(Self.score.level([14, -1, 5]) - meanSquare / (1 + meanSquare)) < 1e-12)
        // Far out, and not a number, saturate at 8 spreads rather than overflow or vanish.
        #expect(Self.score.level([1e9, 0, 5]) == Self.score.level([.nan, 0, 5]))
        #expect(Self.score.level([1e9, 0, 5]) > 0.95)
    }

    /// In groups, each group's mean square counts in units of its norm and the largest one is the
    /// level: one input off alone is not averaged away by the rest of the window. Inputs left
    /// out count in no group.
    @Test func inGroupsTheLargestGroupSetsTheLevel() {
        let grouped = AnomalyScore(centers: [0, 0, 0, 0], scales: [1, 1, 1, 1], groups: [0, 1, 0, 1], norms: [2, 4], alarm: .single)
        let whole = AnomalyScore(centers: [0, 0, 0, 0], scales: [1, 1, 1, 1], alarm: .single)
        let step = 8.0 / 127
        let four = (4 / step).rounded() * step, two = (2 / step).rounded() * step
        // Input 1 at 4 spreads, input 2 at 2: group 0 (inputs 0 and 2) 2 / 2 = 1 norm, group 1 8 / 4 = 2.
        let window = [0, 4, 2, 0.0]
        #expect(grouped.groupMeanSquares(window) == [two * two / 2 / 2, four * four / 2 / 4])
        let largest = four * four / 2 / 4
        #expect(abs(grouped.level(window) - largest / (1 + largest)) < 1e-12)
        let all = (four * four + two * two) / 4
        #expect(abs(whole.level(window) - all / (1 + all)) < 1e-12, "one group of norm 1: the mean square of every input")
        // Input 1 left out: group 1 has input 3 alone, at 0.
        #expect(grouped.groupMeanSquares(window, leavingOut: [false, true, false, false]) == [two * two / 2 / 2, 0])
    }

    /// The inputs furthest from healthy, in spreads, furthest first; from `firstInput` on.
    @Test func theFurthestInputsSayWhatAnAlarmIsAbout() {
        #expect(Self.score.furthest([14, -3, 5.2], count: 2) == [1, 0])
        #expect(Self.score.furthest([10, 0, 9], count: 1) == [2])
        let later = AnomalyScore(firstInput: 2, centers: [0, 0], scales: [1, 1], alarm: .single)
        #expect(later.furthest([99, 99, 1, -5], count: 3) == [3, 2])
    }

    /// A bundle carries its anomaly score; one with a center per input missing is refused.
    @Test func bundlesCarryTheScore() throws {
        let (_, manifest, network) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        var withScore = manifest
        withScore.anomaly = AnomalyScore(centers: Array(repeating: 0.5, count: 24), scales: Array(repeating: 2, count: 24),
                                         alarm: AlarmPolicy(threshold: 0.75, consecutive: 3))
        let bytes = ModelBundle.encode(manifest: withScore, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect(try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey]).manifest.anomaly == withScore.anomaly)
        // One that starts further on covers fewer inputs.
        withScore.anomaly = AnomalyScore(firstInput: 8, centers: Array(repeating: 0.5, count: 16), scales: Array(repeating: 2, count: 16),
                                         alarm: AlarmPolicy(threshold: 0.75, consecutive: 3))
        let later = ModelBundle.encode(manifest: withScore, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect(try ModelBundle(bytes: later, trustedKeys: [ModelBundleTests.key.publicKey]).manifest.anomaly == withScore.anomaly)
        // Grouped, it needs format 5: an older agent would take the mean square of every input.
        withScore.anomaly?.groups = (0..<16).map { $0 % 8 }
        withScore.anomaly?.norms = (0..<8).map { 1 + Double($0) }
        let grouped = ModelBundle.encode(manifest: withScore, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect(withScore.format == 5 && grouped[4] == 5)
        #expect(try ModelBundle(bytes: grouped, trustedKeys: [ModelBundleTests.key.publicKey]).manifest.anomaly == withScore.anomaly)
        withScore.anomaly?.groups[3] = 8
        let outside = ModelBundle.encode(manifest: withScore, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(outside)))".contains("whole numbers below the 8 norms"))
        withScore.anomaly?.groups[3] = 3
        withScore.anomaly?.norms[0] = 0
        let zero = ModelBundle.encode(manifest: withScore, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(zero)))".contains("norms"))
        withScore.anomaly?.norms[0] = 1
        withScore.anomaly?.centers.removeLast()
        withScore.anomaly?.scales.removeLast()
        withScore.anomaly?.groups.removeLast()
        let wrong = ModelBundle.encode(manifest: withScore, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(wrong)))".contains("anomaly needs one center"))
    }
}

@Suite("Fault diagnosis")
struct FaultDiagnosisTests {
    static let score = AnomalyScore(firstInput: 1, centers: [0, 0, 0], scales: [1, 1, 2], alarm: .single)
    static let diagnosis = FaultDiagnosis(modes: ["outer_race", "inner_race"],
                                          signatures: [[0.8, -0.6, 0], [-0.6, 0.8, 0]])

    /// The mode whose signature the departure from healthy lies furthest along; the direction
    /// decides, not the distance, so an early window that has moved a little names the mode a
    /// late one does.
    @Test func theDirectionOfTheDepartureNamesTheMode() {
        #expect(Self.diagnosis.mode([99, 3, 1, 0], score: Self.score) == "outer_race")
        #expect(Self.diagnosis.mode([99, 0.03, 0.01, 0], score: Self.score) == "outer_race")
        #expect(Self.diagnosis.mode([99, 1, 3, 40], score: Self.score) == "inner_race")
        // An input that is not a number has not moved; one far out is clipped, not let run away.
        #expect(Self.diagnosis.mode([99, .nan, 0.5, 0], score: Self.score) == "inner_race")
        #expect(Self.score.departure([0, 1e9, .nan, -1e9]) == [8, 0, -8])
    }

    /// With a margin, a mode is named only once the departure lies that many healthy spreads
    /// further along its signature than along the runner-up's: a window just off healthy, where
    /// noise decides the direction, names none.
    @Test func aModeIsNamedOnlyWhenItLeadsByTheMargin() {
        var sure = Self.diagnosis
        sure.margin = 2
        // Along the line from inner to outer race: (2.4 - 0.6 + 1.8 - 0.8) / 1.98 = 1.41 spreads.
        #expect(sure.mode([99, 3, 1, 0], score: Self.score) == nil)
        #expect(sure.mode([99, 0.03, 0.01, 0], score: Self.score) == nil)
        // Twice as far: 2.83 spreads.
        #expect(sure.mode([99, 6, 2, 0], score: Self.score) == "outer_race")
        #expect(sure.mode([99, 2, 6, 0], score: Self.score) == "inner_race")
    }

    /// Through an alarm the mode once named holds while windows leave the modes close, gives way
    /// to another named as surely, and is gone when the alarm clears: the next alarm starts with
    /// none named.
    @Test func theNamedModeHoldsThroughTheAlarm() {
        var sure = Self.diagnosis
        sure.margin = 2
        var state = FaultDiagnosis.State()
        let named = [([99, 6, 2, 0.0], false), ([99, 3, 1, 0], true), ([99, 6, 2, 0], true), ([99, 3, 1, 0], true),
                     ([99, 2, 6, 0], true), ([99, 0, 0, 0], true), ([99, 0, 0, 0], false), ([99, 3, 1, 0], true)]
            .map { inputs, alarm in state.next(inputs, diagnosis: sure, score: Self.score, alarm: alarm) }
        #expect(named == [nil, nil, "outer_race", "outer_race", "inner_race", "inner_race", nil, nil])
    }

    /// Without a diagnosis, the most likely failing class names the mode in an alarm, and only
    /// where the trouble reaches the alarm threshold: below it, how the failing classes split is
    /// a guess.
    @Test func modeClassesNameTheModeWhereTheTroubleReachesTheThreshold() throws {
        let (_, manifest, network) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        var with = manifest
        with.classes = ["healthy", "soon", "failing:imbalance", "failing:outer_race"]
        with.alarm = AlarmPolicy(threshold: 0.6, consecutive: 1)
        let bytes = ModelBundle.encode(manifest: with, layers: network.layers, signingKey: ModelBundleTests.key)
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey])
        let inputs = Array(repeating: 0.0, count: manifest.networkInputs)
        var held = FaultDiagnosis.State()
        // Trouble 0.5: outer race leads, but below the threshold.
        #expect(bundle.faultMode([0.3, 0.2, 0.1, 0.4], inputs: inputs, alarm: true, held: &held) == nil)
        // Trouble 0.7.
        #expect(bundle.faultMode([0.1, 0.2, 0.2, 0.5], inputs: inputs, alarm: true, held: &held) == "outer_race")
        #expect(bundle.faultMode([0.1, 0.2, 0.2, 0.5], inputs: inputs, alarm: false, held: &held) == nil)
    }

    /// A bundle carries its diagnosis and margin, which then name the mode of every window in
    /// alarm; one without an anomaly score, with a signature of the wrong length or a negative
    /// margin, is refused.
    @Test func bundlesCarryTheDiagnosis() throws {
        let (_, manifest, network) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        var with = manifest
        with.anomaly = AnomalyScore(firstInput: 21, centers: [0, 0, 0], scales: [1, 1, 1], alarm: .single)
        with.diagnosis = FaultDiagnosis(modes: ["ball", "imbalance"], signatures: [[1, 0, 0], [0, 0, 1]], margin: 1.25)
        let bytes = ModelBundle.encode(manifest: with, layers: network.layers, signingKey: ModelBundleTests.key)
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey])
        #expect(bundle.manifest.diagnosis == with.diagnosis)
        // Imbalance leads ball by (2 - 0.1) / 1.41 = 1.34 spreads.
        let inputs = Array(repeating: 0.0, count: 21) + [0.1, 5, 2]
        var held = FaultDiagnosis.State()
        #expect(bundle.faultMode([1, 0, 0, 0], inputs: inputs, alarm: false, held: &held) == nil)
        #expect(bundle.faultMode([1, 0, 0, 0], inputs: inputs, alarm: true, held: &held) == "imbalance")
        // A bundle from before margins names the furthest always.
        with.diagnosis?.margin = 0
        let before = ModelBundle.encode(manifest: with, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect(!String(decoding: before, as: UTF8.self).contains("margin"))
        #expect(try ModelBundle(bytes: before, trustedKeys: [ModelBundleTests.key.publicKey]).manifest.diagnosis?.margin == 0)
        with.diagnosis?.margin = -1
        let negative = ModelBundle.encode(manifest: with, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(negative)))".contains("diagnosis margin -1.0 is not a distance"))
        with.diagnosis?.margin = 0
        with.diagnosis?.signatures[1].removeLast()
        let short = ModelBundle.encode(manifest: with, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(short)))".contains("one signature of 3 finite numbers per mode"))
        with.diagnosis?.signatures[1].append(0)
        with.anomaly = nil
        let alone = ModelBundle.encode(manifest: with, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(alone)))".contains("diagnosis needs an anomaly score"))
    }
}

@Suite("Sensor drift check")
struct SensorDriftCheckTests {
    static let window = FeatureWindowSpec.Window.time(seconds: 3600, hopSeconds: 1800)
    /// Eight inputs (the reference network takes 24: each with its relative value and trend);
    /// temperature, current and pressure have a mean.
    static let inputs: [ModelManifest.Input] = [("temperature", "mean"), ("temperature", "max"), ("current", "mean"), ("current", "std"),
                                                ("pressure", "mean"), ("vibration", "rms"), ("vibration", "kurtosis"), ("vibration", "peak")]
        .map { ModelManifest.Input(sensor: $0.0, feature: $0.1, window: window) }
    static let check = SensorDriftCheck(sensors: ["temperature", "current"], inputs: inputs)!

    /// Departures with temperature, current and pressure's means (anomaly inputs 0, 2 and 4) at
    /// the given spreads from healthy.
    static func departure(_ temperature: Double, _ current: Double, pressure: Double = 0) -> [Double] {
        var departure = Array(repeating: 0.5, count: 16)
        departure[0] = temperature
        departure[2] = current
        departure[4] = pressure
        return departure
    }

    /// Runs the check over windows every half hour from time 0; the drifting sensors of each.
    static func run(_ departures: [[Double]]) -> [[String]] {
        var state = SensorDriftCheck.State()
        return departures.enumerated().map { state.next($1, at: Double($0) * 1800, check: check) }
    }

    /// A sensor far off while the others stay near is drifting once that has lasted 12 hours
    /// (25 windows half an hour apart), and stays so until it is back near its baseline.
    @Test func aSensorFarOffAloneForHalfADayDrifts() {
        let verdicts = Self.run(Array(repeating: Self.departure(7, 0.5, pressure: -2), count: 25)
                                + [Self.departure(4, 0), Self.departure(-7, 1), Self.departure(2.9, 0), Self.departure(0, 0)])
        #expect(verdicts.prefix(24).allSatisfy { $0.isEmpty }, "\(verdicts)")
        #expect(verdicts[24] == ["temperature"])
        #expect(verdicts[25] == ["temperature"] && verdicts[26] == ["temperature"], "between near and far, and on the other side: still off")
        #expect(verdicts[27].isEmpty && verdicts[28].isEmpty, "back within 3 spreads: trusted again")
    }

    /// Wear moves sensors together: a far temperature with current (or an unjudged sensor)
    /// past 3 spreads is not a drift; nor is a run that breaks before 12 hours.
    @Test func sensorsMovingTogetherOrABrokenRunAreNotADrift() {
        #expect(Self.run(Array(repeating: Self.departure(8, 3.5), count: 40)).allSatisfy { $0.isEmpty })
        #expect(Self.run(Array(repeating: Self.departure(8, 0, pressure: -4), count: 40)).allSatisfy { $0.isEmpty })
        let broken = Array(repeating: Self.departure(0, 8), count: 20) + [Self.departure(0, 5)] + Array(repeating: Self.departure(0, 8), count: 20)
        #expect(Self.run(broken).allSatisfy { $0.isEmpty })
        #expect(Self.run(broken + Array(repeating: Self.departure(0, -8), count: 5)).last == ["current"])
    }

    /// A bundle carries the check; a drifting sensor's inputs are scored at healthy (raw at the
    /// training mean, relative and trend at the anomaly score's center) and the others as they
    /// are. A sensor without a mean input, or a check whose anomaly score does not start at the
    /// relative inputs, is refused.
    @Test func bundlesCarryTheCheckAndScoreTheDriftingSensorAtHealthy() throws {
        let (_, manifest, network) = try ModelBundleTests.sample("tflite_mlp_24_32_16_4.json", rounding: .single)
        var with = manifest
        with.inputs = Self.inputs
        with.context = InputContext(baselineSeconds: 3600, trendSeconds: 7200, growth: false)
        with.means = (0..<24).map { Double($0) }
        with.anomaly = AnomalyScore(firstInput: 8, centers: (0..<16).map { 0.1 * Double($0) }, scales: Array(repeating: 0.01, count: 16),
                                    alarm: .single)
        with.sensorDrift = Self.check
        let bytes = ModelBundle.encode(manifest: with, layers: network.layers, signingKey: ModelBundleTests.key)
        let bundle = try ModelBundle(bytes: bytes, trustedKeys: [ModelBundleTests.key.publicKey])
        #expect(bundle.manifest.sensorDrift == Self.check)
        // Temperature's relative mean 0.2 above its center (20 spreads), the others at theirs.
        var window = (0..<8).map { 100 + Double($0) } + (0..<16).map { 0.1 * Double($0) }
        window[8] += 0.2
        var state = SensorDriftCheck.State()
        for step in 0..<24 {
            var inputs = window
            #expect(bundle.trusted(&inputs, stuck: [], drift: &state, at: Double(step) * 1800).isEmpty)
            #expect(inputs == window, "not drifting yet: scored as it is")
        }
        var inputs = window
        var stuck = window, stuckState = state
        #expect(bundle.trusted(&inputs, stuck: [], drift: &state, at: 24 * 1800) == ["temperature"])
        var expected = window
        for (input, healthy) in [(0, 0.0), (1, 1), (8, 0), (9, 0.1), (16, 0.8), (17, 0.9)] { expected[input] = healthy }
        #expect(inputs == expected)
        // With current stuck, nothing says temperature moves alone: it is not judged drifting,
        // and the stuck current's inputs (2 and 3, 10 and 11, 18 and 19) are put at healthy.
        #expect(bundle.trusted(&stuck, stuck: ["current"], drift: &stuckState, at: 24 * 1800).isEmpty)
        expected = window
        for (input, healthy) in [(2, 2.0), (3, 3), (10, 0.2), (11, 0.3), (18, 1.0), (19, 1.1)] { expected[input] = healthy }
        #expect(stuck.indices.allSatisfy { abs(stuck[$0] - expected[$0]) < 1e-12 }, "\(stuck)")

        // Temperature far off alone is left out of the anomaly level until the check can tell a
        // drift from wear; once current follows (4 spreads), it counts again.
        var grouped = with
        grouped.anomaly?.groups = (0..<16).map { $0 % 8 }
        grouped.anomaly?.norms = Array(repeating: 1, count: 8)
        let judging = try ModelBundle(bytes: ModelBundle.encode(manifest: grouped, layers: network.layers, signingKey: ModelBundleTests.key),
                                      trustedKeys: [ModelBundleTests.key.publicKey])
        let score = try #require(grouped.anomaly)
        #expect(judging.anomalyLevel(window) == score.level(window, leavingOut: (0..<16).map { $0 % 8 < 2 }))
        #expect(try #require(judging.anomalyLevel(window)) == 0, "every other input at its center")
        #expect(score.level(window) > 0.95)
        var followed = window
        followed[10] += 0.04
        #expect(judging.anomalyLevel(followed) == score.level(followed))
        // A stuck current says nothing: temperature is not judged alone beside it.
        #expect(judging.anomalyLevel(window, stuck: ["current"]) == score.level(window))

        var refused = with
        refused.sensorDrift = SensorDriftCheck(sensors: ["pressure"], inputs: Self.inputs)
        refused.anomaly = AnomalyScore(centers: Array(repeating: 0, count: 24), scales: Array(repeating: 1, count: 24), alarm: .single)
        let noContext = ModelBundle.encode(manifest: refused, layers: network.layers, signingKey: ModelBundleTests.key)
        #expect("\(try #require(ModelBundleTests.refusal(noContext)))".contains("sensor_drift needs a context"))
        #expect(SensorDriftCheck(sensors: ["vibration"], inputs: Self.inputs) == nil, "vibration has no mean")
    }
}
