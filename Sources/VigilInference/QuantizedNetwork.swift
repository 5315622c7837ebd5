/// A stack of int8 dense layers: quantizes a float feature vector (already standardised by the
/// model's own means and scales), runs the layers in int8, and dequantizes the output. Scratch
/// buffers are allocated once, so scoring a window allocates nothing. Not thread-safe: one
/// network per thread.
public final class QuantizedNetwork: @unchecked Sendable {
    public let layers: [QuantizedDense]
    private let width: Int
    private var first: [Int8]
    private var second: [Int8]

    /// A network of `layers`, each taking the previous one's output.
    public init(layers: [QuantizedDense]) {
        precondition(!layers.isEmpty)
        for (previous, next) in zip(layers, layers.dropFirst()) {
            precondition(previous.outputs == next.inputs, "layer widths do not chain")
        }
        self.layers = layers
        width = layers.map { max($0.inputs, $0.outputs) }.max()!
        first = Array(repeating: 0, count: width)
        second = Array(repeating: 0, count: width)
    }

    public var inputs: Int { layers[0].inputs }
    public var outputs: Int { layers[layers.count - 1].outputs }

    /// Runs the int8 layers on `input`, calling `observe` with each layer's output (for tests
    /// and diagnostics), and returns the last layer's output.
    @discardableResult
    public func run(int8 input: UnsafeBufferPointer<Int8>, observe: ((Int, UnsafeBufferPointer<Int8>) -> Void)? = nil) -> [Int8] {
        precondition(input.count == inputs)
        return first.withUnsafeMutableBufferPointer { a in
            second.withUnsafeMutableBufferPointer { b in
                var source = UnsafePointer(input.baseAddress!)
                var targets = (a.baseAddress!, b.baseAddress!)
                for (index, layer) in layers.enumerated() {
                    layer.run(source, into: targets.0)
                    observe?(index, UnsafeBufferPointer(start: targets.0, count: layer.outputs))
                    source = UnsafePointer(targets.0)
                    targets = (targets.1, targets.0)
                }
                return Array(UnsafeBufferPointer(start: source, count: outputs))
            }
        }
    }

    /// Quantizes `features`, runs the network and writes the dequantized outputs into `output`.
    public func predict(_ features: UnsafeBufferPointer<Double>, into output: inout [Double]) {
        precondition(features.count == inputs)
        let inputParameters = layers[0].input
        let outputParameters = layers[layers.count - 1].output
        output.removeAll(keepingCapacity: true)
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: inputs) { quantized in
            for index in 0..<inputs { quantized[index] = inputParameters.quantize(features[index]) }
            first.withUnsafeMutableBufferPointer { a in
                second.withUnsafeMutableBufferPointer { b in
                    var source = UnsafePointer(quantized.baseAddress!)
                    var targets = (a.baseAddress!, b.baseAddress!)
                    for layer in layers {
                        layer.run(source, into: targets.0)
                        source = UnsafePointer(targets.0)
                        targets = (targets.1, targets.0)
                    }
                    for index in 0..<outputs { output.append(outputParameters.dequantize(source[index])) }
                }
            }
        }
    }
}
