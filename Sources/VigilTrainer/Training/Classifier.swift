import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// A small neural classifier in float64: dense layers with ReLU between them and softmax at the
/// end; no hidden layer makes it a multinomial logistic regression. Trained with mini-batch AdamW
/// (Adam with decoupled weight decay) on class-weighted cross-entropy, with early stopping on the
/// validation loss, then its logits shifted back by the log of each class's weight, so its
/// probabilities follow how often each class occurs (the weights only keep rare classes from
/// being ignored while it learns). Deterministic for a seed.
public struct Classifier: Sendable {
    /// One dense layer: `outputs` rows of `inputs` weights, and a bias.
    public struct Layer: Sendable {
        public var inputs: Int
        public var outputs: Int
        public var weights: [Double]
        public var bias: [Double]
    }

    public private(set) var layers: [Layer]

    /// A classifier of `inputs` features, `hidden` layer widths and `classes` outputs, with
    /// He-initialised weights drawn from `seed`.
    public init(inputs: Int, hidden: [Int], classes: Int, seed: UInt64) {
        var random = SeededRandom(seed: seed, stream: 0xC1A5)
        let widths = [inputs] + hidden + [classes]
        layers = zip(widths, widths.dropFirst()).map { fanIn, fanOut in
            let spread = (2 / Double(fanIn)).squareRoot()
            return Layer(inputs: fanIn, outputs: fanOut, weights: (0..<fanIn * fanOut).map { _ in spread * random.gaussian() },
                         bias: Array(repeating: 0, count: fanOut))
        }
    }

    /// The activations of every layer for `x` (after ReLU for hidden layers; logits last).
    func forward(_ x: [Double]) -> [[Double]] {
        var activations = [x]
        for (index, layer) in layers.enumerated() {
            let input = activations[activations.count - 1]
            var output = layer.bias
            for row in 0..<layer.outputs {
                var sum = output[row]
                for column in 0..<layer.inputs { sum += layer.weights[row * layer.inputs + column] * input[column] }
                output[row] = index < layers.count - 1 ? max(0, sum) : sum
            }
            activations.append(output)
        }
        return activations
    }

    /// Class probabilities for `x`.
    public func probabilities(_ x: [Double]) -> [Double] {
        softmax(forward(x)[layers.count])
    }

    private func softmax(_ logits: [Double]) -> [Double] {
        let top = logits.max() ?? 0
        let exps = logits.map { exp($0 - top) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }

    /// Each example's weighted cross-entropy, scaled so that their mean is the loss over them all.
    func losses(_ examples: [(x: [Double], y: Int)], weights: [Double]) -> [Double] {
        let meanWeight = examples.reduce(0) { $0 + weights[$1.y] } / Double(max(examples.count, 1))
        return examples.map { x, y in -weights[y] / meanWeight * log(max(probabilities(x)[y], 1e-12)) }
    }

    /// Weighted cross-entropy over `examples`.
    func loss(_ examples: [(x: [Double], y: Int)], weights: [Double]) -> Double {
        examples.isEmpty ? 0 : losses(examples, weights: weights).reduce(0, +) / Double(examples.count)
    }

    /// One Adam step on `parameters` from `gradients` (times `scale`), with its moment estimates,
    /// and AdamW's decoupled `decay`: the parameters shrink by the learning rate times it.
    private static func adam(_ parameters: inout [Double], _ gradients: [Double], _ scale: Double,
                             _ m: inout [Double], _ v: inout [Double], _ step: Double, _ learningRate: Double, decay: Double = 0) {
        let (beta1, beta2, epsilon) = (0.9, 0.999, 1e-8)
        let correction1 = 1 - pow(beta1, step), correction2 = 1 - pow(beta2, step)
        for index in parameters.indices {
            let g = gradients[index] * scale
            m[index] = beta1 * m[index] + (1 - beta1) * g
            v[index] = beta2 * v[index] + (1 - beta2) * g * g
            parameters[index] -= learningRate * ((m[index] / correction1) / ((v[index] / correction2).squareRoot() + epsilon)
                                                 + decay * parameters[index])
        }
    }

    /// Training progress after an epoch.
    public struct Epoch: Sendable {
        public var number: Int
        public var trainingLoss: Double
        public var validationLoss: Double
    }

    /// Trains on `train`, stopping when the validation loss has not improved for `patience`
    /// epochs and keeping the best weights. Classes are weighted by inverse frequency, so the
    /// rare failing class counts; `weightDecay` shrinks the weights (not the biases) each step;
    /// with a `dropout`, some training windows are shown with a sensor at healthy. Without
    /// validation windows the training loss stands in for theirs: a refit trains for `epochs`
    /// (within `patience`) and keeps its lowest. Calls `progress` after each epoch. Returns each
    /// validation window's loss (`losses`) at the epoch kept, for comparing candidates window by window.
    @discardableResult
    public mutating func train(_ train: [(x: [Double], y: Int)], validation: [(x: [Double], y: Int)], epochs: Int = 200,
                               batch: Int = 32, learningRate: Double = 0.005, weightDecay: Double = 0, patience: Int = 15,
                               dropout: SensorDropout? = nil, seed: UInt64, progress: (Epoch) -> Void = { _ in }) -> [Double] {
        guard !train.isEmpty else { return [] }
        let classes = layers[layers.count - 1].outputs
        var counts = Array(repeating: 0.0, count: classes)
        for (_, y) in train { counts[y] += 1 }
        let classWeights = counts.map { $0 == 0 ? 0 : Double(train.count) / (Double(classes) * $0) }
        var random = SeededRandom(seed: seed, stream: 0xADA)
        var m = layers.map { (Array(repeating: 0.0, count: $0.weights.count), Array(repeating: 0.0, count: $0.bias.count)) }
        var v = m
        var step = 0.0
        var best = (loss: Double.infinity, layers: layers, losses: [Double]())
        var sinceBest = 0
        var order = Array(train.indices)
        for epoch in 1...epochs {
            for index in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(index, Int(random.next() % UInt64(index + 1))) }
            for start in stride(from: 0, to: order.count, by: batch) {
                var gradients = layers.map { (Array(repeating: 0.0, count: $0.weights.count), Array(repeating: 0.0, count: $0.bias.count)) }
                var batchWeight = 0.0
                for position in start..<min(start + batch, order.count) {
                    let (shown, y) = train[order[position]]
                    let x = dropout?.apply(shown, random: &random) ?? shown
                    let weight = classWeights[y]
                    batchWeight += weight
                    let activations = forward(x)
                    var delta = softmax(activations[layers.count])
                    delta[y] -= 1
                    delta = delta.map { $0 * weight }
                    for layerIndex in stride(from: layers.count - 1, through: 0, by: -1) {
                        let layer = layers[layerIndex]
                        let input = activations[layerIndex]
                        var previous = Array(repeating: 0.0, count: layer.inputs)
                        for row in 0..<layer.outputs where delta[row] != 0 {
                            gradients[layerIndex].1[row] += delta[row]
                            for column in 0..<layer.inputs {
                                gradients[layerIndex].0[row * layer.inputs + column] += delta[row] * input[column]
                                previous[column] += delta[row] * layer.weights[row * layer.inputs + column]
                            }
                        }
                        if layerIndex > 0 {
                            delta = zip(previous, input).map { $1 > 0 ? $0 : 0 }
                        }
                    }
                }
                // Adam.
                step += 1
                let scale = 1 / max(batchWeight, 1e-12)
                for layerIndex in layers.indices {
                    Self.adam(&layers[layerIndex].weights, gradients[layerIndex].0, scale, &m[layerIndex].0, &v[layerIndex].0, step, learningRate,
                              decay: weightDecay)
                    Self.adam(&layers[layerIndex].bias, gradients[layerIndex].1, scale, &m[layerIndex].1, &v[layerIndex].1, step, learningRate)
                }
            }
            let trainingLoss = loss(train, weights: classWeights)
            let validationLosses = validation.isEmpty ? [] : losses(validation, weights: classWeights)
            let validationLoss = validation.isEmpty ? trainingLoss : validationLosses.reduce(0, +) / Double(validation.count)
            progress(Epoch(number: epoch, trainingLoss: trainingLoss, validationLoss: validationLoss))
            if validationLoss < best.loss - 1e-6 {
                best = (validationLoss, layers, validationLosses)
                sinceBest = 0
            } else {
                sinceBest += 1
                if sinceBest >= patience { break }
            }
        }
        layers = best.layers
        for (index, weight) in classWeights.enumerated() where weight > 0 {
            layers[layers.count - 1].bias[index] -= log(weight)
        }
        return best.losses
    }
}
