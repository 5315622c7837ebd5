/// A fully connected int8 layer in TensorFlow Lite's scheme, as its reference kernel computes:
///
///     acc[c]   = bias[c] + sum_j (q_in[j] - input_zero_point) * w[c][j]          (int32)
///     q_out[c] = clamp(output_zero_point + MBQM(acc[c], multiplier[c], shift[c]), lo, 127)
///
/// Weights are symmetric int8 per output channel (zero point 0), stored row-contiguous; `lo` is
/// the output zero point when the layer's ReLU is folded into the clamp, else -128.
public struct QuantizedDense: Sendable {
    public enum Activation: String, Sendable {
        case none
        case relu
    }

    public let inputs: Int
    public let outputs: Int
    /// `outputs` rows of `inputs` weights.
    public let weights: [Int8]
    public let bias: [Int32]
    public let rescale: [QuantizedMultiplier]
    public let input: QuantizationParameters
    public let output: QuantizationParameters
    public let activation: Activation
    /// `bias[c] - input_zero_point * sum_j w[c][j]`: the zero point folded in once, so the
    /// inner loop is a plain int8 dot product the compiler vectorises.
    private let foldedBias: [Int32]

    public init(inputs: Int, outputs: Int, weights: [Int8], bias: [Int32], rescale: [QuantizedMultiplier],
                input: QuantizationParameters, output: QuantizationParameters, activation: Activation) {
        precondition(weights.count == inputs * outputs && bias.count == outputs && rescale.count == outputs)
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.bias = bias
        self.rescale = rescale
        self.input = input
        self.output = output
        self.activation = activation
        foldedBias = (0..<outputs).map { row in
            let sum = weights[(row * inputs)..<((row + 1) * inputs)].reduce(Int32(0)) { $0 &+ Int32($1) }
            return bias[row] &- input.zeroPoint &* sum
        }
    }

    /// Runs the layer: `source` holds `inputs` values, `destination` receives `outputs`.
    @inline(__always)
    public func run(_ source: UnsafePointer<Int8>, into destination: UnsafeMutablePointer<Int8>) {
        let low = activation == .relu ? output.zeroPoint : -128
        let high: Int32 = 127
        let zeroPoint = output.zeroPoint
        weights.withUnsafeBufferPointer { weights in
            foldedBias.withUnsafeBufferPointer { bias in
                rescale.withUnsafeBufferPointer { rescale in
                    for row in 0..<outputs {
                        let rowStart = weights.baseAddress! + row * inputs
                        var dot: Int32 = 0
                        for column in 0..<inputs {
                            dot &+= Int32(source[column]) &* Int32(rowStart[column])
                        }
                        let scaled = zeroPoint &+ rescale[row].apply(bias[row] &+ dot)
                        destination[row] = Int8(truncatingIfNeeded: Swift.max(low, Swift.min(high, scaled)))
                    }
                }
            }
        }
    }
}
