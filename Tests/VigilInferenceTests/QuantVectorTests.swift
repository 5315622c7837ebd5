#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilCore
import VigilInference

/// Every file in Fixtures/quant, each saying which rounding it holds: requantize cases computed
/// with numpy on int64, and networks whose every int8 layer output was computed the same way or
/// read from the TensorFlow Lite interpreter itself. Every value must match exactly.
@Suite("int8 arithmetic against reference vectors")
struct QuantVectorTests {
    static let folder = String(#filePath.dropLast("QuantVectorTests.swift".count)) + "Fixtures/quant"

    /// Every `.json` file in the folder, by name: a vector dropped in is checked too.
    static let files: [String] = {
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".json") { names.append(name) }
        }
        return names.sorted()
    }()

    static func numbers(_ value: JSONValue?) -> [Double] {
        guard case .array(let items)? = value else { return [] }
        return items.map { if case .number(let x) = $0 { x } else { .nan } }
    }

    static func rows(_ value: JSONValue?) -> [[Double]] {
        guard case .array(let items)? = value else { return [] }
        return items.map { numbers($0) }
    }

    static func rounding(_ root: JSONObjectReader) throws -> QuantizedMultiplier.Rounding {
        let name = try root.string("rounding")
        guard let rounding = QuantizedMultiplier.Rounding(rawValue: name) else { throw root.error("rounding", "unknown: \(name)") }
        return rounding
    }

    static var requantizeFiles: [String] { files.filter { (try? JSONObjectReader(file: folder + "/" + $0))?.value("cases") != nil } }
    static var networkFiles: [String] { files.filter { (try? JSONObjectReader(file: folder + "/" + $0))?.value("layers") != nil } }

    /// Both roundings and both kinds of file are there, and nothing else.
    @Test func theFolderHoldsBothRoundings() throws {
        #expect(Set(Self.requantizeFiles + Self.networkFiles) == Set(Self.files))
        let roundings = try Self.files.map { try Self.rounding(JSONObjectReader(file: Self.folder + "/" + $0)) }
        #expect(Set(roundings) == Set(QuantizedMultiplier.Rounding.allCases), "\(Self.files)")
        #expect(Self.requantizeFiles.count >= 2 && Self.networkFiles.count >= 3)
    }

    @Test(arguments: requantizeFiles)
    func requantizeCases(file: String) throws {
        let root = try JSONObjectReader(file: Self.folder + "/" + file)
        let rounding = try Self.rounding(root)
        guard case .array(let cases)? = root.value("cases") else { Issue.record("no cases"); return }
        #expect(cases.count >= 100)
        for (index, entry) in cases.enumerated() {
            guard case .number(let real)? = entry["real_multiplier"], case .number(let multiplier)? = entry["multiplier"],
                  case .number(let shift)? = entry["shift"] else { Issue.record("case \(index) malformed"); continue }
            let quantized = QuantizedMultiplier(real, rounding: rounding)
            #expect(quantized == QuantizedMultiplier(multiplier: Int32(multiplier), shift: Int32(shift), rounding: rounding), "case \(index)")
            let got = Self.numbers(entry["acc"]).map { quantized.apply(Int32($0)) }
            #expect(got == Self.numbers(entry["expected"]).map { Int32($0) }, "case \(index)")
        }
    }

    /// QuantizeMultiplier's edges: a multiplier too small for a shift of -31 flushes to zero (the
    /// output is then the zero point); with single rounding a shift above 30 saturates.
    @Test func tinyMultipliersFlushAndHugeOnesSaturate() {
        for rounding in QuantizedMultiplier.Rounding.allCases {
            let tiny = QuantizedMultiplier(1e-12, rounding: rounding)
            #expect(tiny.multiplier == 0 && tiny.shift == 0)
            #expect(tiny.apply(1_000_000) == 0 && tiny.apply(-1_000_000) == 0)
            #expect(QuantizedMultiplier(pow(2, -32) * 1.5, rounding: rounding).shift == -31)
        }
        #expect(QuantizedMultiplier(pow(2, 40), rounding: .single) == QuantizedMultiplier(multiplier: Int32.max, shift: 30, rounding: .single))
    }

    /// The network of a vector file, as the runtime builds it, with its float twin.
    static func network(_ file: String) throws -> (QuantizedNetwork, FloatNetwork, JSONObjectReader) {
        let root = try JSONObjectReader(file: folder + "/" + file)
        let rounding = try rounding(root)
        var layers: [QuantizedDense] = []
        var floats: [FloatNetwork.Layer] = []
        for layer in try root.objects("layers") {
            let inputs = try layer.integer("in_features"), outputs = try layer.integer("out_features")
            let multipliers = numbers(layer.value("multiplier")), shifts = numbers(layer.value("shift"))
            let relu = try layer.string("activation") == "relu"
            layers.append(QuantizedDense(
                inputs: inputs, outputs: outputs,
                weights: rows(layer.value("weights_int8")).flatMap { $0.map { Int8($0) } },
                bias: numbers(layer.value("bias_int32")).map { Int32($0) },
                rescale: zip(multipliers, shifts).map { QuantizedMultiplier(multiplier: Int32($0), shift: Int32($1), rounding: rounding) },
                input: QuantizationParameters(scale: try layer.double("input_scale"), zeroPoint: Int32(try layer.integer("input_zero_point"))),
                output: QuantizationParameters(scale: try layer.double("output_scale"), zeroPoint: Int32(try layer.integer("output_zero_point"))),
                activation: relu ? .relu : .none))
            floats.append(FloatNetwork.Layer(inputs: inputs, outputs: outputs,
                                             weights: rows(layer.value("float_weights")).flatMap { $0.map { Float($0) } },
                                             bias: numbers(layer.value("float_bias")).map { Float($0) }, relu: relu))
        }
        return (QuantizedNetwork(layers: layers), FloatNetwork(layers: floats), root)
    }

    @Test(arguments: networkFiles)
    func everyLayerMatchesExactly(file: String) throws {
        let (network, _, root) = try Self.network(file)
        let inputs = Self.rows(root.value("test_inputs_int8"))
        let floatInputs = Self.rows(root.value("test_inputs_float"))
        guard case .array(let perLayer)? = root.value("expected_int8_per_layer") else { Issue.record("no expectations"); return }
        let expected = perLayer.map { Self.rows($0) }
        #expect(!inputs.isEmpty && expected.count == network.layers.count)
        var mismatches = 0
        for (sample, input) in inputs.enumerated() {
            // Quantizing the float input gives the vector's int8 input.
            #expect(floatInputs[sample].map { network.layers[0].input.quantize($0) } == input.map { Int8($0) }, "input \(sample)")
            let bytes = input.map { Int8($0) }
            _ = bytes.withUnsafeBufferPointer { buffer in
                network.run(int8: buffer) { layer, output in
                    if Array(output) != expected[layer][sample].map({ Int8($0) }) { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0, "\(file): \(mismatches) layer outputs differ")
    }

    /// The other rounding gets some values wrong on a network: the choice matters, and the
    /// files tell the two apart.
    @Test(arguments: networkFiles)
    func theOtherRoundingDiffers(file: String) throws {
        let root = try JSONObjectReader(file: Self.folder + "/" + file)
        let rounding = try Self.rounding(root)
        let other: QuantizedMultiplier.Rounding = rounding == .single ? .double : .single
        let (network, _, _) = try Self.network(file)
        let swapped = QuantizedNetwork(layers: network.layers.map { layer in
            QuantizedDense(inputs: layer.inputs, outputs: layer.outputs, weights: layer.weights, bias: layer.bias,
                           rescale: layer.rescale.map { QuantizedMultiplier(multiplier: $0.multiplier, shift: $0.shift, rounding: other) },
                           input: layer.input, output: layer.output, activation: layer.activation)
        })
        guard case .array(let perLayer)? = root.value("expected_int8_per_layer") else { Issue.record("no expectations"); return }
        let expected = perLayer.map { Self.rows($0) }
        var mismatches = 0
        for (sample, input) in Self.rows(root.value("test_inputs_int8")).enumerated() {
            _ = input.map { Int8($0) }.withUnsafeBufferPointer { buffer in
                swapped.run(int8: buffer) { layer, output in
                    mismatches += zip(output, expected[layer][sample]).filter { Int($0) != Int($1) }.count
                }
            }
        }
        #expect(mismatches > 0, "\(file): the \(other.rawValue) rounding matched every value too")
    }

    /// Far outside the calibrated ranges int8 saturates where the float network extrapolates;
    /// the float network kept within int8's ranges (`within`) follows int8 there, a few output
    /// steps off at most (rounding alone), and equals the float network inside them.
    @Test(arguments: networkFiles)
    func floatWithinInt8RangesDiffersByRoundingAlone(file: String) throws {
        let (network, floatNetwork, root) = try Self.network(file)
        let bounded = floatNetwork.within(network)
        let step = network.layers[network.layers.count - 1].output.scale
        var quantized: [Double] = [], plain: [Double] = [], kept: [Double] = []
        var plainOff = 0.0, keptOff = 0.0
        for input in Self.rows(root.value("test_inputs_float")) {
            let far = input.map { 20 * $0 }
            far.withUnsafeBufferPointer { network.predict($0, into: &quantized) }
            far.withUnsafeBufferPointer { floatNetwork.predict($0, into: &plain) }
            far.withUnsafeBufferPointer { bounded.predict($0, into: &kept) }
            plainOff = max(plainOff, zip(quantized, plain).map { abs($0 - $1) }.max()!)
            keptOff = max(keptOff, zip(quantized, kept).map { abs($0 - $1) }.max()!)
        }
        #expect(plainOff > 100 * step, "\(file): the float network stayed within \(plainOff / step) steps far outside")
        #expect(keptOff <= 6 * step, "\(file): \(keptOff / step) steps")
        let inside = Self.rows(root.value("test_inputs_float"))[0]
        inside.withUnsafeBufferPointer { floatNetwork.predict($0, into: &plain) }
        inside.withUnsafeBufferPointer { bounded.predict($0, into: &kept) }
        #expect(zip(plain, kept).allSatisfy { abs($0 - $1) <= 2 * step }, "\(file)")
    }

    @Test(arguments: networkFiles)
    func int8AgreesWithFloatOnArgmax(file: String) throws {
        let (network, floatNetwork, root) = try Self.network(file)
        let inputs = Self.rows(root.value("test_inputs_float"))
        var agree = 0
        var quantized: [Double] = [], reference: [Double] = []
        for input in inputs {
            input.withUnsafeBufferPointer { network.predict($0, into: &quantized) }
            input.withUnsafeBufferPointer { floatNetwork.predict($0, into: &reference) }
            if quantized.indices.max(by: { quantized[$0] < quantized[$1] }) == reference.indices.max(by: { reference[$0] < reference[$1] }) {
                agree += 1
            }
        }
        #expect(Double(agree) / Double(inputs.count) >= 0.95, "\(file): \(agree) of \(inputs.count)")
        // The float baseline is the vector's own float network.
        let expected = Self.rows(root.value("float_reference_output"))
        inputs[0].withUnsafeBufferPointer { floatNetwork.predict($0, into: &reference) }
        #expect(zip(reference, expected[0]).allSatisfy { abs($0 - $1) < 1e-4 }, "\(file)")
    }
}
