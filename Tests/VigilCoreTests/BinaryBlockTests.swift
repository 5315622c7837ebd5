import Testing
import VigilCore

/// The binary block payload: decoded exactly (float32, scaled int16), refused with a reason for
/// every way its header or body can be wrong.
@Suite("Binary block payloads")
struct BinaryBlockTests {
    func decode(_ bytes: [UInt8], sensor: Int = 0) throws(PayloadError) -> DecodedPayload {
        var out = DecodedPayload()
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(PayloadError) in try PayloadDecoder(profile: PayloadDecoderTests.motor).decode(raw, sensor: sensor, into: &out) }
        }
        try result.get()
        return out
    }

    func refusal(_ bytes: [UInt8], sensor: Int = 0) -> PayloadError? {
        do {
            _ = try decode(bytes, sensor: sensor)
            return nil
        } catch {
            return error
        }
    }

    @Test func float32AndInt16BlocksDecode() throws {
        let samples = [0.5, -1.25, 3.0, 0, 49.5]
        let float = try decode(BinaryBlock.encode(seq: 42, timestamp: 1_750_000_000.25, rateHz: 4096, samples: samples))
        #expect(float.sequence == 42 && float.timestamp == 1_750_000_000.25 && float.rateHz == 4096 && float.blockSensor == 0)
        #expect(float.samples == samples)
        let scaled = try decode(BinaryBlock.encode(seq: 43, timestamp: 1_750_000_000.5, rateHz: 0, samples: [0.01, -0.02, 1.234],
                                                   encoding: .int16, scale: 0.001))
        // Rate 0 takes the profile's; int16 samples are multiples of the scale.
        #expect(scaled.rateHz == 2048)
        #expect(zip(scaled.samples, [0.01, -0.02, 1.234]).allSatisfy { abs($0 - $1) < 1e-6 })
        // The header alone is 28 bytes; a block of 256 float32 samples is 1,052.
        #expect(BinaryBlock.encode(seq: 0, timestamp: 1, rateHz: 1, samples: Array(repeating: 0, count: 256)).count == 1_052)
    }

    @Test func badBlocksAreRefusedSayingWhy() {
        let good = BinaryBlock.encode(seq: 1, timestamp: 1_750_000_000, rateHz: 2048, samples: [1, 2, 3])
        var version = good
        version[2] = 9
        var encoding = good
        encoding[3] = 7
        var rate = good
        withUnsafeBytes(of: Float(-5).bitPattern.littleEndian) { rate.replaceSubrange(20..<24, with: $0) }
        let cases: [([UInt8], Int, DeadLetterReason, String)] = [
            (Array(good.prefix(20)), 0, .invalidBlock, "needs a 28-byte header"),
            (Array(good.prefix(28)), 0, .invalidBlock, "0 bytes of samples"),
            (good + [0], 0, .invalidBlock, "13 bytes of samples are no whole number"),
            (version, 0, .invalidBlock, "version 9"),
            (encoding, 0, .invalidBlock, "sample encoding 7"),
            (rate, 0, .outOfRange, "'rate_hz' must be positive"),
            (BinaryBlock.encode(seq: 1, timestamp: 1_750_000_000, rateHz: 2048, samples: [1, .nan]), 0, .nonFinite, "NaN"),
            (BinaryBlock.encode(seq: 1, timestamp: 1_750_000_000, rateHz: 2048, samples: [1, 60]), 0, .outOfRange, "vibration = 60.0"),
            (BinaryBlock.encode(seq: 1, timestamp: -3, rateHz: 2048, samples: [1]), 0, .outOfRange, "after 1970"),
            (good, 1, .wrongKind, "sensor temperature sends single values"),
        ]
        for (bytes, sensor, reason, says) in cases {
            let error = refusal(bytes, sensor: sensor)
            #expect(error?.reason == reason && error?.detail.contains(says) == true, "\(says): \(String(describing: error))")
        }
    }
}
