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
    /// The range each layer's inputs are kept within, then the last layer's outputs' (`within`);
    /// nil: unbounded, the network as trained.
    public let ranges: [ClosedRange<Float>]?
    private var first: [Float]
    private var second: [Float]

    public init(layers: [Layer], ranges: [ClosedRange<Float>]? = nil) {
        precondition(!layers.isEmpty && (ranges == nil || ranges!.count == layers.count + 1))
        self.layers = layers
        self.ranges = ranges
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
                if let range = ranges?[0] { for index in 0..<layers[0].inputs { a[index] = a[index].clamped(to: range) } }
                var source = a.baseAddress!
                var target = b.baseAddress!
                for (position, layer) in layers.enumerated() {
                    layer.weights.withUnsafeBufferPointer { weights in
                        for row in 0..<layer.outputs {
                            let rowStart = weights.baseAddress! + row * layer.inputs
                            var sum = layer.bias[row]
                            for column in 0..<layer.inputs { sum += rowStart[column] * source[column] }
                            target[row] = layer.relu ? max(0, sum) : sum
                        }
                    }
                    if let range = ranges?[position + 1] { for row in 0..<layer.outputs { target[row] = target[row].clamped(to: range) } }
                    swap(&source, &target)
                }
                for index in 0..<layers[layers.count - 1].outputs { output.append(Double(source[index])) }
            }
        }
    }
}

extension FloatNetwork {
    /// The same network with every layer's inputs and outputs kept within what `int8`, its
    /// quantized twin, represents (the ranges calibration chose): int8 as it would compute
    /// without rounding, so the two differ by rounding alone. Calibration clips the rare extreme
    /// activations the float network extrapolates from; `evaluate --float` measures both.
    public func within(_ int8: QuantizedNetwork) -> FloatNetwork {
        precondition(int8.layers.count == layers.count)
        func range(_ parameters: QuantizationParameters) -> ClosedRange<Float> {
            Float(Double(-128 - parameters.zeroPoint) * parameters.scale)...Float(Double(127 - parameters.zeroPoint) * parameters.scale)
        }
        return FloatNetwork(layers: layers, ranges: [range(int8.layers[0].input)] + int8.layers.map { range($0.output) })
    }
}

private extension Float {
    func clamped(to range: ClosedRange<Float>) -> Float { Swift.min(range.upperBound, Swift.max(range.lowerBound, self)) }
}
