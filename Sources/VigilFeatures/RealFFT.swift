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
    /// Twiddles for the half-length complex FFT and for the final split.
    private let cosines: [Double]
    private let sines: [Double]
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
        cosines = (0..<half / 2).map { cos(-2 * .pi * Double($0) / Double(half)) }
        sines = (0..<half / 2).map { sin(-2 * .pi * Double($0) / Double(half)) }
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
        power.removeAll(keepingCapacity: true)
        if workspace.count < count { workspace = Array(repeating: 0, count: count) }
        workspace.withUnsafeMutableBufferPointer { workspace in
            let re = UnsafeMutableBufferPointer(rebasing: workspace[0..<half])
            let im = UnsafeMutableBufferPointer(rebasing: workspace[half..<count])
            do {
                // Pack even samples as real parts, odd as imaginary, in bit-reversed order.
                for index in 0..<half {
                    let target = bitReversed[index]
                    re[target] = input[2 * index]
                    im[target] = input[2 * index + 1]
                }
                cosines.withUnsafeBufferPointer { cosines in
                    sines.withUnsafeBufferPointer { sines in
                        var size = 2
                        while size <= half {
                            let step = half / size
                            let middle = size / 2
                            var start = 0
                            while start < half {
                                for offset in 0..<middle {
                                    let wr = cosines[offset * step], wi = sines[offset * step]
                                    let a = start + offset, b = a + middle
                                    let tr = wr * re[b] - wi * im[b]
                                    let ti = wr * im[b] + wi * re[b]
                                    re[b] = re[a] - tr
                                    im[b] = im[a] - ti
                                    re[a] += tr
                                    im[a] += ti
                                }
                                start += size
                            }
                            size *= 2
                        }
                    }
                }
                // Split: X[k] = (Z[k] + conj Z[N/2-k]) / 2 + e^{-2 pi i k / N} (Z[k] - conj Z[N/2-k]) / 2i.
                for k in 0...half {
                    let zr = re[k % half], zi = im[k % half]
                    let cr = re[(half - k) % half], ci = -im[(half - k) % half]
                    let evenR = (zr + cr) / 2, evenI = (zi + ci) / 2
                    let oddR = (zi - ci) / 2, oddI = -(zr - cr) / 2
                    let wr = splitCosines[k], wi = splitSines[k]
                    let xr = evenR + wr * oddR - wi * oddI
                    let xi = evenI + wr * oddI + wi * oddR
                    power.append(xr * xr + xi * xi)
                }
            }
        }
    }
}
