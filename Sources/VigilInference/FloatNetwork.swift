/// The same dense network in float32: the baseline the int8 network is checked and measured
/// against (agreement, latency, size). Given the same care as the int8 path: contiguous rows,
/// scratch buffers allocated once.
public final class FloatNetwork: @unchecked Sendable {
    /// One float layer: `outputs` rows of `inputs` weights, a bias, and ReLU or none.
    public struct Layer: Sendable {
        public let inputs: Int
        public let outputs: Int
        public let weights: [Float]
        public let bias: [Float]
        public let relu: Bool

        public init(inputs: Int, outputs: Int, weights: [Float], bias: [Float], relu: Bool) {
            precondition(weights.count == inputs * outputs && bias.count == outputs)
            self.inputs = inputs
            self.outputs = outputs
            self.weights = weights
            self.bias = bias
            self.relu = relu
        }
    }

    public let layers: [Layer]
    private var first: [Float]
    private var second: [Float]

    public init(layers: [Layer]) {
        precondition(!layers.isEmpty)
        self.layers = layers
        let width = layers.map { max($0.inputs, $0.outputs) }.max()!
        first = Array(repeating: 0, count: width)
        second = Array(repeating: 0, count: width)
    }

    /// Runs the network on `features` and writes the outputs into `output`.
    public func predict(_ features: UnsafeBufferPointer<Double>, into output: inout [Double]) {
        output.removeAll(keepingCapacity: true)
        first.withUnsafeMutableBufferPointer { a in
            second.withUnsafeMutableBufferPointer { b in
                for index in 0..<layers[0].inputs { a[index] = Float(features[index]) }
                var source = a.baseAddress!
                var target = b.baseAddress!
                for layer in layers {
                    layer.weights.withUnsafeBufferPointer { weights in
                        for row in 0..<layer.outputs {
                            let rowStart = weights.baseAddress! + row * layer.inputs
                            var sum = layer.bias[row]
                            for column in 0..<layer.inputs { sum += rowStart[column] * source[column] }
                            target[row] = layer.relu ? max(0, sum) : sum
                        }
                    }
                    swap(&source, &target)
                }
                for index in 0..<layers[layers.count - 1].outputs { output.append(Double(source[index])) }
            }
        }
    }
}
