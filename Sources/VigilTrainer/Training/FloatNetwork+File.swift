import VigilCore
import VigilInference

extension FloatNetwork {
    /// The layers as the `.float.json` file `train` writes beside a bundle:
    /// `{"layers": [{"inputs", "outputs", "weights": [row-major], "bias", "relu"}]}`.
    public static func json(_ layers: [Layer]) -> JSONValue {
        ["layers": .array(layers.map { layer in
            ["inputs": .number(Double(layer.inputs)), "outputs": .number(Double(layer.outputs)),
             "weights": .array(layer.weights.map { .number(Double($0)) }), "bias": .array(layer.bias.map { .number(Double($0)) }),
             "relu": .bool(layer.relu)]
        })]
    }

    /// Reads such a file; errors name the file and the field.
    public static func load(file: String) throws(ConfigurationError) -> FloatNetwork {
        let root = try JSONObjectReader(file: file)
        var layers: [Layer] = []
        for (index, entry) in try root.objects("layers").enumerated() {
            let inputs = try entry.integer("inputs")
            let outputs = try entry.integer("outputs")
            let weights = try entry.numbers("weights")
            let bias = try entry.numbers("bias")
            let relu = try entry.optionalBool("relu") ?? false
            guard inputs >= 1, outputs >= 1, weights.count == inputs * outputs, bias.count == outputs,
                  layers.last.map({ $0.outputs == inputs }) ?? true else {
                throw entry.error(nil, "layers[\(index)]: needs inputs x outputs weights, one bias per output, and the previous layer's outputs as inputs")
            }
            layers.append(Layer(inputs: inputs, outputs: outputs, weights: weights.map(Float.init), bias: bias.map(Float.init), relu: relu))
        }
        guard !layers.isEmpty else { throw root.error("layers", "names no layer") }
        try root.rejectUnknownFields()
        return FloatNetwork(layers: layers)
    }
}
