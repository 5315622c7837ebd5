#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// An FFT of real input, planned once per size: a complex FFT (radix 4, and one radix-2 stage
/// when needed) of half the length on the even and odd samples, then one pass that splits it
/// into the real signal's spectrum. Linux has no Accelerate, and the feature engine needs only
/// power-of-two windows. A plan holds no state between transforms, so every window of one size
/// shares one (`plan(count:)`): a plant's thousand motors need one 2,048-point plan, not a
/// thousand.
public final class RealFFT: Sendable {
    /// The number of real samples transformed.
    public let count: Int
    private let half: Int
    private let bitReversed: [Int]
    /// Twiddles of the radix-4 passes of the half-length complex FFT, pass by pass: the pass
    /// over groups of `4m` reads, for j < m, the cosines of `w = e^{-2 pi i j / 4m}`, then their
    /// sines, then those of `w^2`, then `w^3`, each run `m` long and contiguous.
    private let quarterTwiddles: [Double]
    /// Twiddles of the last radix-2 pass, when the half length is an odd power of two:
    /// `e^{-2 pi i j / 2m}` for j < m, m the pass's span.
    private let lastCosines: [Double]
    private let lastSines: [Double]
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
        // The first pass (span 1) needs no twiddles: they are all 1.
        var quarter: [Double] = []
        var span = 4
        while span * 4 <= half {
            for power in 1...3 {
                let angles = (0..<span).map { -2 * Double.pi * Double(power * $0) / Double(4 * span) }
                quarter += angles.map { cos($0) }
                quarter += angles.map { sin($0) }
            }
            span *= 4
        }
        quarterTwiddles = quarter
        let lastAngles = span < half ? (0..<span).map { -Double.pi * Double($0) / Double(span) } : []
        lastCosines = lastAngles.map { cos($0) }
        lastSines = lastAngles.map { sin($0) }
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
        power.resize(to: half + 1)
        power.withUnsafeMutableBufferPointer { power in
            transform(input, workspace: &workspace) { k, xr, xi in power[k] = xr * xr + xi * xi }
        }
    }

    /// Writes `X[k]` for k = 0...count/2 of the transform of `input` into `real` and
    /// `imaginary`, working in `workspace`: the phases a band's envelope is demodulated from.
    public func spectrum(_ input: UnsafeBufferPointer<Double>, real: inout [Double], imaginary: inout [Double], workspace: inout [Double]) {
        real.resize(to: half + 1)
        imaginary.resize(to: half + 1)
        real.withUnsafeMutableBufferPointer { real in
            imaginary.withUnsafeMutableBufferPointer { imaginary in
                transform(input, workspace: &workspace) { k, xr, xi in
                    real[k] = xr
                    imaginary[k] = xi
                }
            }
        }
    }

    /// The complex FFT of `count / 2` points, in place. Called with the two arrays swapped, it
    /// gives the inverse transform times `count / 2` (swapping parts is `i conj`, twice undone).
    public func complexTransform(real: UnsafeMutablePointer<Double>, imaginary: UnsafeMutablePointer<Double>) {
        bitReversed.withUnsafeBufferPointer { bitReversed in
            for index in 0..<half where bitReversed[index] > index {
                let target = bitReversed[index]
                (real[index], real[target]) = (real[target], real[index])
                (imaginary[index], imaginary[target]) = (imaginary[target], imaginary[index])
            }
        }
        butterflies(real, imaginary)
    }

    /// Transforms `input` and hands each `X[k]`, k = 0...count/2, to `emit`.
    @inline(__always)
    private func transform(_ input: UnsafeBufferPointer<Double>, workspace: inout [Double], emit: (Int, Double, Double) -> Void) {
        precondition(input.count == count)
        if workspace.count < count { workspace.resize(to: count) }
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
            butterflies(re, im)
            splitCosines.withUnsafeBufferPointer { splitCosines in
                splitSines.withUnsafeBufferPointer { splitSines in
                    // Split: X[k] = (Z[k] + conj Z[N/2-k]) / 2 + e^{-2 pi i k / N} (Z[k] - conj Z[N/2-k]) / 2i.
                    // Z[N/2] is Z[0]: X[0] and X[N/2] are the sum and difference of its parts.
                    emit(0, re[0] + im[0], 0)
                    for k in 1..<half {
                        let zr = re[k], zi = im[k]
                        let cr = re[half - k], ci = -im[half - k]
                        let evenR = (zr + cr) / 2, evenI = (zi + ci) / 2
                        let oddR = (zi - ci) / 2, oddI = -(zr - cr) / 2
                        let wr = splitCosines[k], wi = splitSines[k]
                        emit(k, evenR + wr * oddR - wi * oddI, evenI + wr * oddI + wi * oddR)
                    }
                    emit(half, re[0] - im[0], 0)
                }
            }
        }
    }

    /// The half-length complex FFT's stages, with this plan's twiddles.
    @inline(__always)
    private func butterflies(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>) {
        quarterTwiddles.withUnsafeBufferPointer { quarter in
            lastCosines.withUnsafeBufferPointer { cosines in
                lastSines.withUnsafeBufferPointer { sines in
                    butterflies(re, im, quarter.baseAddress, cosines.baseAddress, sines.baseAddress)
                }
            }
        }
    }

    /// The in-place stages of the half-length complex FFT on bit-reversed input: radix-4 passes,
    /// each doing the work of two radix-2 stages with three twiddle products per four points
    /// instead of four, then one radix-2 stage if the half length is an odd power of two. Two
    /// points at a time (`SIMD2`): the compiler does not vectorize loops over eight pointers.
    @inline(__always)
    private func butterflies(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>,
                             _ quarter: UnsafePointer<Double>?, _ lastCosines: UnsafePointer<Double>?, _ lastSines: UnsafePointer<Double>?) {
        guard half >= 4 else {
            // Two points: one butterfly, twiddle 1.
            (re[0], re[1], im[0], im[1]) = (re[0] + re[1], re[0] - re[1], im[0] + im[1], im[0] - im[1])
            return
        }
        // Span 1: every twiddle is 1.
        for start in stride(from: 0, to: half, by: 4) {
            let r = re + start, i = im + start
            let pr = r[0] + r[1], pi = i[0] + i[1], qr = r[0] - r[1], qi = i[0] - i[1]
            let rr = r[2] + r[3], ri = i[2] + i[3], ur = r[2] - r[3], ui = i[2] - i[3]
            (r[0], i[0], r[2], i[2]) = (pr + rr, pi + ri, pr - rr, pi - ri)
            (r[1], i[1], r[3], i[3]) = (qr + ui, qi - ur, qr - ui, qi + ur)
        }
        var span = 4
        var twiddles = quarter
        while span * 4 <= half {
            // Radix-2 stages of spans m and 2m on a group of 4m: with w = e^{-2 pi i j / 4m},
            // x0 = p + r, x2 = p - r, x1 = q - i u, x3 = q + i u, where p, q = a0 +- w^2 a1 and
            // r, u = w a2 +- w^3 a3 (the second stage's twiddle for the odd half is -i w).
            let c1 = twiddles!, s1 = c1 + span, c2 = s1 + span, s2 = c2 + span, c3 = s2 + span, s3 = c3 + span
            for start in stride(from: 0, to: half, by: 4 * span) {
                let r0 = re + start, i0 = im + start, r1 = r0 + span, i1 = i0 + span
                let r2 = r1 + span, i2 = i1 + span, r3 = r2 + span, i3 = i2 + span
                for j in stride(from: 0, to: span, by: 2) {
                    let (t1r, t1i) = Self.product(c2.pair(j), s2.pair(j), r1.pair(j), i1.pair(j))
                    let (t2r, t2i) = Self.product(c1.pair(j), s1.pair(j), r2.pair(j), i2.pair(j))
                    let (t3r, t3i) = Self.product(c3.pair(j), s3.pair(j), r3.pair(j), i3.pair(j))
                    let a0r = r0.pair(j), a0i = i0.pair(j)
                    let pr = a0r + t1r, pi = a0i + t1i, qr = a0r - t1r, qi = a0i - t1i
                    let rr = t2r + t3r, ri = t2i + t3i, ur = t2r - t3r, ui = t2i - t3i
                    r0.setPair(j, pr + rr)
                    i0.setPair(j, pi + ri)
                    r2.setPair(j, pr - rr)
                    i2.setPair(j, pi - ri)
                    r1.setPair(j, qr + ui)
                    i1.setPair(j, qi - ur)
                    r3.setPair(j, qr - ui)
                    i3.setPair(j, qi + ur)
                }
            }
            twiddles = s3 + span
            span *= 4
        }
        guard span < half, let wr = lastCosines, let wi = lastSines else { return }
        let rb = re + span, ib = im + span
        for j in stride(from: 0, to: span, by: 2) {
            let (tr, ti) = Self.product(wr.pair(j), wi.pair(j), rb.pair(j), ib.pair(j))
            let ar = re.pair(j), ai = im.pair(j)
            rb.setPair(j, ar - tr)
            ib.setPair(j, ai - ti)
            re.setPair(j, ar + tr)
            im.setPair(j, ai + ti)
        }
    }

    /// `(wr + i wi)(xr + i xi)`, two at a time.
    @inline(__always)
    private static func product(_ wr: SIMD2<Double>, _ wi: SIMD2<Double>, _ xr: SIMD2<Double>, _ xi: SIMD2<Double>)
        -> (SIMD2<Double>, SIMD2<Double>) {
        (wr * xr - wi * xi, wr * xi + wi * xr)
    }
}

private extension UnsafePointer<Double> {
    /// Elements `j` and `j + 1`.
    @inline(__always)
    func pair(_ j: Int) -> SIMD2<Double> { UnsafeRawPointer(self + j).loadUnaligned(as: SIMD2<Double>.self) }
}

private extension UnsafeMutablePointer<Double> {
    @inline(__always)
    func pair(_ j: Int) -> SIMD2<Double> { UnsafeRawPointer(self + j).loadUnaligned(as: SIMD2<Double>.self) }

    @inline(__always)
    func setPair(_ j: Int, _ value: SIMD2<Double>) { UnsafeMutableRawPointer(self + j).storeBytes(of: value, as: SIMD2<Double>.self) }
}
