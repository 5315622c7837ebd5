import VigilInference

/// Turns a trained float classifier into the int8 layers the runtime runs, in TensorFlow Lite's
/// scheme: activation ranges calibrated on training data (always holding 0), weights symmetric
/// per output channel, int32 bias at the input scale times the weight scale, and the rescale of
/// each channel as a quantized multiplier. The arithmetic is the runtime's own. A range spans
/// the `clip` to 1 - `clip` quantiles of its tensor's values rather than min to max: a spiking
/// or drifting sensor's few extreme windows would otherwise stretch one scale over every input
/// and leave the ordinary values a handful of steps; beyond the range, values saturate.
public enum PostTrainingQuantizer {
    public static func quantize(_ classifier: Classifier, calibration: [[Double]], clip: Double = 0.001) -> [QuantizedDense] {
        // Every layer's input and output values over the calibration set, then their ranges.
        var values = Array(repeating: [Double](), count: classifier.layers.count + 1)
        for x in calibration {
            for (index, activation) in classifier.forward(x).enumerated() { values[index] += activation }
        }
        let ranges = values.map { tensor -> (low: Double, high: Double) in
            let sorted = tensor.sorted()
            guard !sorted.isEmpty else { return (0, 0) }
            let last = sorted.count - 1
            let low = sorted[Int((clip * Double(last)).rounded(.down))]
            let high = sorted[Int(((1 - clip) * Double(last)).rounded(.up))]
            return (min(low, 0), max(high, 0))
        }
        let parameters = ranges.map { range -> QuantizationParameters in
            let span = max(range.high - range.low, 1e-6)
            let scale = span / 255
            let zeroPoint = Int32(max(-128, min(127, (-128 - range.low / scale).rounded())))
            return QuantizationParameters(scale: scale, zeroPoint: zeroPoint)
        }
        return classifier.layers.enumerated().map { index, layer in
            let input = parameters[index], output = parameters[index + 1]
            var weights: [Int8] = [], bias: [Int32] = [], rescale: [QuantizedMultiplier] = []
            for row in 0..<layer.outputs {
                let rowWeights = layer.weights[(row * layer.inputs)..<((row + 1) * layer.inputs)]
                let largest = rowWeights.map(abs).max() ?? 0
                let weightScale = largest > 0 ? largest / 127 : 1
                weights += rowWeights.map { Int8(max(-127, min(127, ($0 / weightScale).rounded()))) }
                bias.append(Int32(max(-2e9, min(2e9, (layer.bias[row] / (input.scale * weightScale)).rounded()))))
                rescale.append(QuantizedMultiplier(input.scale * weightScale / output.scale))
            }
            return QuantizedDense(inputs: layer.inputs, outputs: layer.outputs, weights: weights, bias: bias, rescale: rescale,
                                  input: input, output: output, activation: index < classifier.layers.count - 1 ? .relu : .none)
        }
    }
}
