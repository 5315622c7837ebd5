import VigilCore
import VigilInference

extension FloatNetwork {
    /// The member networks as the `.float.json` file `train` writes beside a bundle:
    /// `{"members": [{"layers": [{"inputs", "outputs", "weights": [row-major], "bias", "relu"}]}]}`.
    public static func json(_ members: [[Layer]]) -> JSONValue {
        ["members": .array(members.map { layers in
            ["layers": .array(layers.map { layer in
                ["inputs": .number(Double(layer.inputs)), "outputs": .number(Double(layer.outputs)),
                 "weights": .array(layer.weights.map { .number(Double($0)) }), "bias": .array(layer.bias.map { .number(Double($0)) }),
                 "relu": .bool(layer.relu)]
            })]
        })]
    }

    /// Reads such a file, one network per member; errors name the file and the field.
    public static func load(file: String) throws(ConfigurationError) -> [FloatNetwork] {
        let root = try JSONObjectReader(file: file)
        var members: [FloatNetwork] = []
        for entry in try root.objects("members") {
            members.append(try network(entry))
            try entry.rejectUnknownFields()
        }
        guard !members.isEmpty else { throw root.error("members", "names no network") }
        try root.rejectUnknownFields()
        return members
    }

    private static func network(_ entry: JSONObjectReader) throws(ConfigurationError) -> FloatNetwork {
        var layers: [Layer] = []
        for (index, layer) in try entry.objects("layers").enumerated() {
            let inputs = try layer.integer("inputs")
            let outputs = try layer.integer("outputs")
            let weights = try layer.numbers("weights")
            let bias = try layer.numbers("bias")
            let relu = try layer.optionalBool("relu") ?? false
            guard inputs >= 1, outputs >= 1, weights.count == inputs * outputs, bias.count == outputs,
                  layers.last.map({ $0.outputs == inputs }) ?? true else {
                throw layer.error(nil, "layers[\(index)]: needs inputs x outputs weights, one bias per output, and the previous layer's outputs as inputs")
            }
            layers.append(Layer(inputs: inputs, outputs: outputs, weights: weights.map(Float.init), bias: bias.map(Float.init), relu: relu))
        }
        guard !layers.isEmpty else { throw entry.error("layers", "names no layer") }
        return FloatNetwork(layers: layers)
    }
}
