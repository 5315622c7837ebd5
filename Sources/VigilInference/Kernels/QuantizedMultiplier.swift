#if canImport(Glibc)
import Glibc
#endif

/// A real-valued rescale factor as TensorFlow Lite's int8 scheme stores it: an int32
/// `multiplier` in [2^30, 2^31) and a power-of-two `shift`, with `real ~= multiplier * 2^(shift - 31)`.
/// Applying it is integer arithmetic only, rounded one of TensorFlow Lite's two ways, so every
/// runtime that follows the scheme and the rounding gets the same bits.
public struct QuantizedMultiplier: Sendable, Equatable {
    /// How `x * real` is rounded back to int32. A model records the one it was quantized for.
    public enum Rounding: String, Sendable, CaseIterable {
        /// gemmlowp's two steps: SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT.
        case double
        /// One step, `(x * multiplier + 2^(30 - shift)) >> (31 - shift)`: what the TensorFlow Lite
        /// interpreter computes today (`TFLITE_SINGLE_ROUNDING`), and the trainer's default.
        case single
    }

    public var multiplier: Int32
    public var shift: Int32
    public var rounding: Rounding

    public init(multiplier: Int32, shift: Int32, rounding: Rounding = .single) {
        self.multiplier = multiplier
        self.shift = shift
        self.rounding = rounding
    }

    /// Quantizes `real` (frexp, then `round(fraction * 2^31)`) as TensorFlow Lite's
    /// QuantizeMultiplier does: a multiplier too small for a shift of -31 flushes to zero, and
    /// with single rounding a shift above 30 saturates.
    public init(_ real: Double, rounding: Rounding = .single) {
        guard real != 0 else {
            self.init(multiplier: 0, shift: 0, rounding: rounding)
            return
        }
        var exponent: Int32 = 0
        let fraction = frexp(real, &exponent)
        var quantized = Int64((fraction * Double(1 << 31)).rounded(.toNearestOrAwayFromZero))
        if quantized == 1 << 31 {
            quantized /= 2
            exponent += 1
        }
        if exponent < -31 {
            self.init(multiplier: 0, shift: 0, rounding: rounding)
        } else if rounding == .single && exponent > 30 {
            self.init(multiplier: Int32.max, shift: 30, rounding: rounding)
        } else {
            self.init(multiplier: Int32(quantized), shift: exponent, rounding: rounding)
        }
    }

    /// `MultiplyByQuantizedMultiplier(x)`: `x * real`, rounded as TensorFlow Lite rounds it.
    @inline(__always)
    public func apply(_ x: Int32) -> Int32 {
        switch rounding {
        case .double:
            let left = max(shift, 0)
            let right = max(-shift, 0)
            return Self.roundingDivideByPowerOfTwo(Self.saturatingRoundingDoublingHighMul(x &<< left, multiplier), right)
        case .single:
            let total = Int64(31 - shift)
            return Int32(clamping: (Int64(x) * Int64(multiplier) + (1 << (total - 1))) >> total)
        }
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
