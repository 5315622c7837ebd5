/// The compact payload of a sample block, for sensors that send many samples: a 28-byte header,
/// then the samples, every field little-endian.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 2 | magic `VB` (0x56 0x42) |
/// | 2 | 1 | version, 1 |
/// | 3 | 1 | sample encoding: 1 float32, 2 int16 scaled by `scale` |
/// | 4 | 8 | `seq`, unsigned |
/// | 12 | 8 | `ts`, float64 Unix seconds of the first sample (whatever the profile's `timestamp_unit`) |
/// | 20 | 4 | `rate_hz`, float32; 0 takes the profile's |
/// | 24 | 4 | `scale`, float32: an int16 sample `s` is `s * scale` (ignored for float32) |
/// | 28 | 4n or 2n | the samples |
///
/// The agent tells it from JSON by its first two bytes, on the same topics.
public enum BinaryBlock {
    public enum Encoding: UInt8, Sendable {
        case float32 = 1
        case int16 = 2

        var sampleSize: Int { self == .float32 ? 4 : 2 }
    }

    public static let headerSize = 28
    public static let magic: (UInt8, UInt8) = (0x56, 0x42)
    public static let version: UInt8 = 1

    /// Whether `payload` starts as a binary block does.
    public static func isBinary(_ payload: UnsafeRawBufferPointer) -> Bool {
        payload.count >= 2 && payload[0] == magic.0 && payload[1] == magic.1
    }

    /// Encodes a block; int16 samples are rounded to the nearest multiple of `scale` and clamped.
    public static func encode(seq: UInt64, timestamp: Double, rateHz: Float, samples: [Double], encoding: Encoding = .float32,
                              scale: Float = 1) -> [UInt8] {
        var bytes: [UInt8] = [magic.0, magic.1, version, encoding.rawValue]
        bytes.reserveCapacity(headerSize + samples.count * encoding.sampleSize)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        append(seq)
        append(timestamp.bitPattern)
        append(rateHz.bitPattern)
        append(scale.bitPattern)
        for sample in samples {
            switch encoding {
            case .float32: append(Float(sample).bitPattern)
            case .int16: append(Int16((sample / Double(scale)).rounded().clamped(to: -32_768...32_767)))
            }
        }
        return bytes
    }

    /// Decodes a block into `samples` (emptied first); throws the reason it is refused.
    public static func decode(_ payload: UnsafeRawBufferPointer, into samples: inout [Double]) throws(PayloadError)
        -> (seq: Int64, timestamp: Double, rateHz: Double) {
        samples.removeAll(keepingCapacity: true)
        guard payload.count >= headerSize else {
            throw PayloadError(.invalidBlock, "a binary block needs a \(headerSize)-byte header, got \(payload.count) bytes")
        }
        guard payload[2] == version else { throw PayloadError(.invalidBlock, "binary block version \(payload[2]); this agent reads \(version)") }
        guard let encoding = Encoding(rawValue: payload[3]) else {
            throw PayloadError(.invalidBlock, "binary block sample encoding \(payload[3]); known: 1 (float32), 2 (int16)")
        }
        let seq = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
        let timestamp = Double(bitPattern: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 12, as: UInt64.self)))
        let rate = Float(bitPattern: UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 20, as: UInt32.self)))
        let scale = Float(bitPattern: UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
        guard seq <= 9_007_199_254_740_992 else { throw PayloadError(.outOfRange, "binary block seq \(seq) exceeds 2^53") }
        guard timestamp.isFinite, rate.isFinite, scale.isFinite else { throw PayloadError(.nonFinite, "a binary block header field is NaN or infinite") }
        let body = payload.count - headerSize
        guard body > 0, body % encoding.sampleSize == 0 else {
            throw PayloadError(.invalidBlock, "\(body) bytes of samples are no whole number of \(encoding) samples")
        }
        let count = body / encoding.sampleSize
        samples.append(contentsOf: repeatElement(0, count: count))
        samples.withUnsafeMutableBufferPointer { samples in
            switch encoding {
            case .float32:
                for index in 0..<count {
                    let bits = payload.loadUnaligned(fromByteOffset: headerSize + 4 * index, as: UInt32.self)
                    samples[index] = Double(Float(bitPattern: UInt32(littleEndian: bits)))
                }
            case .int16:
                let factor = Double(scale)
                for index in 0..<count {
                    samples[index] = Double(Int16(littleEndian: payload.loadUnaligned(fromByteOffset: headerSize + 2 * index, as: Int16.self))) * factor
                }
            }
        }
        return (Int64(seq), timestamp, Double(rate))
    }
}

private extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
