#if canImport(Glibc)
import Glibc
#endif

/// The output activations, on dequantized values: softmax for classes, sigmoid for a score.
public enum Activations {
    /// Softmax in place, shifted by the maximum so large logits cannot overflow.
    public static func softmax(_ values: inout [Double]) {
        guard let largest = values.max() else { return }
        var total = 0.0
        for index in values.indices {
            values[index] = exp(values[index] - largest)
            total += values[index]
        }
        for index in values.indices { values[index] /= total }
    }

    /// The logistic function.
    public static func sigmoid(_ value: Double) -> Double {
        value >= 0 ? 1 / (1 + exp(-value)) : exp(value) / (1 + exp(value))
    }
}
