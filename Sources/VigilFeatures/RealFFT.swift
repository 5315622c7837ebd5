#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A radix-2 FFT of real input, planned once per size: a complex FFT of half the length on the
/// even and odd samples, then one pass that splits it into the real signal's spectrum. Linux
/// has no Accelerate, and the feature engine needs only power-of-two windows. A plan holds no
/// state between transforms, so every window of one size shares one (`plan(count:)`): a plant's
/// thousand motors need one 2,048-point plan, not a thousand.
public final class RealFFT: Sendable {
    /// The number of real samples transformed.
    public let count: Int
    private let half: Int
    private let bitReversed: [Int]
    /// Twiddles of the half-length complex FFT, stage by stage: the stage whose butterflies span
    /// `m` samples reads `e^{-2 pi i j / 2m}` for j < m at [m, 2m), contiguously.
    private let twiddleCosines: [Double]
    private let twiddleSines: [Double]
    /// Twiddles of the final split, `e^{-2 pi i k / count}` for k = 0...count/2.
    private let splitCosines: [Double]
    private let splitSines: [Double]
    /// The periodic Hann window of `count` samples, for the callers that taper their input.
    public let hann: [Double]

    private static let plans = Mutex<[Int: RealFFT]>([:])

    /// The shared plan for `count` samples.
    public static func plan(count: Int) -> RealFFT {
        plans.withLock { plans in
            if let plan = plans[count] { return plan }
            let plan = RealFFT(count: count)
            plans[count] = plan
            return plan
        }
    }

    /// A plan for `count` samples, a power of two of at least 4.
    public init(count: Int) {
        precondition(count >= 4 && count & (count - 1) == 0, "RealFFT needs a power of two of at least 4, got \(count)")
        let half = count / 2
        self.count = count
        self.half = half
        let bits = half.trailingZeroBitCount
        bitReversed = (0..<half).map { index in
            var reversed = 0
            for bit in 0..<bits where index & (1 << bit) != 0 { reversed |= 1 << (bits - 1 - bit) }
            return reversed
        }
        // Entry 0 is unused; entries [m, 2m) are the stage of span m.
        let angles = (0..<half).map { index -> Double in
            let span = index == 0 ? 1 : 1 << (Int.bitWidth - 1 - index.leadingZeroBitCount)
            return -Double.pi * Double(index - span) / Double(span)
        }
        twiddleCosines = angles.map { cos($0) }
        twiddleSines = angles.map { sin($0) }
        splitCosines = (0...half).map { cos(-2 * .pi * Double($0) / Double(count)) }
        splitSines = (0...half).map { sin(-2 * .pi * Double($0) / Double(count)) }
        hann = (0..<count).map { 0.5 - 0.5 * cos(2 * .pi * Double($0) / Double(count)) }
    }

    /// Writes `|X[k]|^2` for k = 0...count/2 of the transform of `input` into `power`.
    public func powerSpectrum(_ input: UnsafeBufferPointer<Double>, into power: inout [Double]) {
        var workspace: [Double] = []
        powerSpectrum(input, into: &power, workspace: &workspace)
    }

    /// The same, working in `workspace` (grown to `count` doubles and kept by the caller, so a
    /// thread that transforms many windows allocates once).
    public func powerSpectrum(_ input: UnsafeBufferPointer<Double>, into power: inout [Double], workspace: inout [Double]) {
        precondition(input.count == count)
        if workspace.count < count { workspace.resize(to: count) }
        power.resize(to: half + 1)
        workspace.withUnsafeMutableBufferPointer { workspace in
            let re = workspace.baseAddress!, im = re + half
            // Pack even samples as real parts, odd as imaginary, in bit-reversed order.
            bitReversed.withUnsafeBufferPointer { bitReversed in
                for index in 0..<half {
                    let target = bitReversed[index]
                    re[target] = input[2 * index]
                    im[target] = input[2 * index + 1]
                }
            }
            twiddleCosines.withUnsafeBufferPointer { cosines in
                twiddleSines.withUnsafeBufferPointer { sines in
                    butterflies(re, im, cosines.baseAddress!, sines.baseAddress!)
                }
            }
            power.withUnsafeMutableBufferPointer { power in
                splitCosines.withUnsafeBufferPointer { splitCosines in
                    splitSines.withUnsafeBufferPointer { splitSines in
                        // Split: X[k] = (Z[k] + conj Z[N/2-k]) / 2 + e^{-2 pi i k / N} (Z[k] - conj Z[N/2-k]) / 2i.
                        // Z[N/2] is Z[0]: X[0] and X[N/2] are the sum and difference of its parts.
                        power[0] = (re[0] + im[0]) * (re[0] + im[0])
                        for k in 1..<half {
                            let zr = re[k], zi = im[k]
                            let cr = re[half - k], ci = -im[half - k]
                            let evenR = (zr + cr) / 2, evenI = (zi + ci) / 2
                            let oddR = (zi - ci) / 2, oddI = -(zr - cr) / 2
                            let wr = splitCosines[k], wi = splitSines[k]
                            let xr = evenR + wr * oddR - wi * oddI
                            let xi = evenI + wr * oddI + wi * oddR
                            power[k] = xr * xr + xi * xi
                        }
                        power[half] = (re[0] - im[0]) * (re[0] - im[0])
                    }
                }
            }
        }
    }

    /// The in-place radix-2 stages of the half-length complex FFT on bit-reversed input.
    @inline(__always)
    private func butterflies(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>,
                             _ cosines: UnsafePointer<Double>, _ sines: UnsafePointer<Double>) {
        var span = 1
        while span < half {
            let wr = cosines + span, wi = sines + span
            var start = 0
            while start < half {
                let ra = re + start, ia = im + start, rb = ra + span, ib = ia + span
                for j in 0..<span {
                    let tr = wr[j] * rb[j] - wi[j] * ib[j]
                    let ti = wr[j] * ib[j] + wi[j] * rb[j]
                    rb[j] = ra[j] - tr
                    ib[j] = ia[j] - ti
                    ra[j] += tr
                    ia[j] += ti
                }
                start += 2 * span
            }
            span *= 2
        }
    }
}
