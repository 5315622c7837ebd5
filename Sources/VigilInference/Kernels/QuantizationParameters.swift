/// How a tensor's int8 values map to real ones: `real = scale * (q - zeroPoint)`.
public struct QuantizationParameters: Sendable, Equatable {
    public var scale: Double
    public var zeroPoint: Int32

    public init(scale: Double, zeroPoint: Int32) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// The int8 nearest to `real` (half away from zero), clamped to [-128, 127].
    @inline(__always)
    public func quantize(_ real: Double) -> Int8 {
        let q = (real / scale).rounded(.toNearestOrAwayFromZero) + Double(zeroPoint)
        return Int8(Swift.max(-128, Swift.min(127, q)))
    }

    /// The real value of `q`.
    @inline(__always)
    public func dequantize(_ q: Int8) -> Double {
        scale * Double(Int32(q) - zeroPoint)
    }
}
