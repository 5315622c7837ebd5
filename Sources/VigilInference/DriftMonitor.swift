#if canImport(Glibc)
import Glibc
#endif

/// How far a model's recent inputs have moved from its training data: the population stability
/// index (PSI) of each input over the last `capacity` windows, against the deciles of the training
/// data the bundle carries. Below 0.1 is the same population, 0.1 to 0.25 a shift worth watching,
/// above 0.25 a different one (the usual reading in credit and condition monitoring alike).
public struct DriftMonitor: Sendable {
    /// Per input, the nine inner decile edges of its training values.
    public let edges: [[Double]]
    public let capacity: Int
    /// The last `capacity` windows' bin per input, as a ring.
    private var bins: [[UInt8]]
    private var counts: [[Int]]
    private var next = 0
    private var filled = 0

    public init(edges: [[Double]], capacity: Int = 500) {
        self.edges = edges
        self.capacity = capacity
        bins = edges.map { _ in [UInt8](repeating: 0, count: capacity) }
        counts = edges.map { Array(repeating: 0, count: $0.count + 1) }
    }

    /// Windows seen, up to `capacity`.
    public var windows: Int { filled }

    /// Records one window's raw (not standardised) inputs.
    public mutating func observe(_ values: [Double]) {
        for input in edges.indices {
            let bin = UInt8(edges[input].firstIndex { values[input] < $0 } ?? edges[input].count)
            if filled == capacity { counts[input][Int(bins[input][next])] -= 1 }
            bins[input][next] = bin
            counts[input][Int(bin)] += 1
        }
        next = (next + 1) % capacity
        filled = min(filled + 1, capacity)
    }

    /// Each input's PSI over the windows seen (nil before any), with half a window added to
    /// every bin so an empty one stays finite.
    public var psi: [Double]? {
        guard filled > 0 else { return nil }
        return counts.map { bins in
            let expected = 1 / Double(bins.count)
            return bins.reduce(0) { sum, count in
                let actual = (Double(count) + 0.5) / (Double(filled) + 0.5 * Double(bins.count))
                return sum + (actual - expected) * log(actual / expected)
            }
        }
    }

    /// The nine inner decile edges of `values` (training data of one input).
    public static func deciles(_ values: [Double]) -> [Double] {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return [] }
        return (1...9).map { sorted[min(sorted.count - 1, sorted.count * $0 / 10)] }
    }
}
