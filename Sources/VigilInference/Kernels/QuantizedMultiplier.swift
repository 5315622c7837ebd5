#if canImport(Glibc)
import Glibc
#endif

/// A real-valued rescale factor as TensorFlow Lite's int8 scheme stores it: an int32
/// `multiplier` in [2^30, 2^31) and a power-of-two `shift`, with `real ~= multiplier * 2^(shift - 31)`.
/// Applying it is integer arithmetic only, with gemmlowp's rounding, so every runtime that
/// follows the scheme gets the same bits.
public struct QuantizedMultiplier: Sendable, Equatable {
    public var multiplier: Int32
    public var shift: Int32

    public init(multiplier: Int32, shift: Int32) {
        self.multiplier = multiplier
        self.shift = shift
    }

    /// Quantizes `real` (frexp, then `round(fraction * 2^31)`), as TFLite's QuantizeMultiplier.
    public init(_ real: Double) {
        guard real != 0 else {
            self.init(multiplier: 0, shift: 0)
            return
        }
        var exponent: Int32 = 0
        let fraction = frexp(real, &exponent)
        var quantized = Int64((fraction * Double(1 << 31)).rounded(.toNearestOrAwayFromZero))
        if quantized == 1 << 31 {
            quantized /= 2
            exponent += 1
        }
        self.init(multiplier: Int32(quantized), shift: exponent)
    }

    /// `MultiplyByQuantizedMultiplier(x)`: `x * real`, rounded as TFLite rounds it.
    @inline(__always)
    public func apply(_ x: Int32) -> Int32 {
        let left = max(shift, 0)
        let right = max(-shift, 0)
        return Self.roundingDivideByPowerOfTwo(Self.saturatingRoundingDoublingHighMul(x &<< left, multiplier), right)
    }

    /// SaturatingRoundingDoublingHighMul: the high 32 bits of `2 * a * b`, rounded to nearest.
    @inline(__always)
    static func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
        if a == Int32.min && b == Int32.min { return Int32.max }
        let product = Int64(a) * Int64(b)
        let nudge: Int64 = product >= 0 ? 1 << 30 : 1 - (1 << 30)
        // Division truncating toward zero, as C's.
        return Int32(truncatingIfNeeded: (product + nudge) / (1 << 31))
    }

    /// RoundingDivideByPOT: `x / 2^exponent`, rounded half away from zero.
    @inline(__always)
    static func roundingDivideByPowerOfTwo(_ x: Int32, _ exponent: Int32) -> Int32 {
        let mask: Int32 = (1 << exponent) &- 1
        let remainder = x & mask
        let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
        return (x >> exponent) + (remainder > threshold ? 1 : 0)
    }
}
