import Testing
import VigilCore
import VigilInference

/// Every file in Fixtures/quant (computed independently with numpy on int64): every requantize
/// case and every int8 value of every layer must match exactly.
@Suite("int8 arithmetic against reference vectors")
struct QuantVectorTests {
    static let folder = String(#filePath.dropLast("QuantVectorTests.swift".count)) + "Fixtures/quant"

    static func numbers(_ value: JSONValue?) -> [Double] {
        guard case .array(let items)? = value else { return [] }
        return items.map { if case .number(let x) = $0 { x } else { .nan } }
    }

    static func rows(_ value: JSONValue?) -> [[Double]] {
        guard case .array(let items)? = value else { return [] }
        return items.map { numbers($0) }
    }

    @Test func requantizeCases() throws {
        let root = try JSONObjectReader(file: Self.folder + "/requantize.json")
        guard case .array(let cases)? = root.value("cases") else { Issue.record("no cases"); return }
        #expect(cases.count >= 100)
        for (index, entry) in cases.enumerated() {
            guard case .number(let real)? = entry["real_multiplier"], case .number(let multiplier)? = entry["multiplier"],
                  case .number(let shift)? = entry["shift"] else { Issue.record("case \(index) malformed"); continue }
            let quantized = QuantizedMultiplier(real)
            #expect(quantized == QuantizedMultiplier(multiplier: Int32(multiplier), shift: Int32(shift)), "case \(index)")
            let got = Self.numbers(entry["acc"]).map { quantized.apply(Int32($0)) }
            #expect(got == Self.numbers(entry["expected"]).map { Int32($0) }, "case \(index)")
        }
    }

    /// The network of the vector file, as the runtime builds it.
    static func network() throws -> (QuantizedNetwork, FloatNetwork, JSONObjectReader) {
        let root = try JSONObjectReader(file: folder + "/mlp_24_32_16_4.json")
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
                rescale: zip(multipliers, shifts).map { QuantizedMultiplier(multiplier: Int32($0), shift: Int32($1)) },
                input: QuantizationParameters(scale: try layer.double("input_scale"), zeroPoint: Int32(try layer.integer("input_zero_point"))),
                output: QuantizationParameters(scale: try layer.double("output_scale"), zeroPoint: Int32(try layer.integer("output_zero_point"))),
                activation: relu ? .relu : .none))
            floats.append(FloatNetwork.Layer(inputs: inputs, outputs: outputs,
                                             weights: rows(layer.value("float_weights")).flatMap { $0.map { Float($0) } },
                                             bias: numbers(layer.value("float_bias")).map { Float($0) }, relu: relu))
        }
        return (QuantizedNetwork(layers: layers), FloatNetwork(layers: floats), root)
    }

    @Test func everyLayerMatchesExactly() throws {
        let (network, _, root) = try Self.network()
        let inputs = Self.rows(root.value("test_inputs_int8"))
        let floatInputs = Self.rows(root.value("test_inputs_float"))
        guard case .array(let perLayer)? = root.value("expected_int8_per_layer") else { Issue.record("no expectations"); return }
        let expected = perLayer.map { Self.rows($0) }
        #expect(inputs.count == 64 && expected.count == network.layers.count)
        var mismatches = 0
        for (sample, input) in inputs.enumerated() {
            // Quantizing the float input gives the vector's int8 input.
            #expect(floatInputs[sample].map { network.layers[0].input.quantize($0) } == input.map { Int8($0) }, "input \(sample)")
            let bytes = input.map { Int8($0) }
            bytes.withUnsafeBufferPointer { buffer in
                network.run(int8: buffer) { layer, output in
                    if Array(output) != expected[layer][sample].map({ Int8($0) }) { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func int8AgreesWithFloatOnArgmax() throws {
        let (network, floatNetwork, root) = try Self.network()
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
        #expect(Double(agree) / Double(inputs.count) >= 0.98, "\(agree) of \(inputs.count)")
        // The float baseline is the vector's own float network.
        let expected = Self.rows(root.value("float_reference_output"))
        inputs[0].withUnsafeBufferPointer { floatNetwork.predict($0, into: &reference) }
        #expect(zip(reference, expected[0]).allSatisfy { abs($0 - $1) < 1e-4 })
    }
}
