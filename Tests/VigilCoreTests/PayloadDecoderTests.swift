import Testing
import VigilCore

@Suite("Payload decoding")
struct PayloadDecoderTests {
    static let motor = DeviceProfile(
        type: "motor", topics: ["plant/{device}/{sensor}"], timestampUnit: .seconds,
        sensors: [
            SensorProfile(name: "vibration", unit: "g", kind: .block, rateHz: 2048, min: -50, max: 50),
            SensorProfile(name: "temperature", unit: "degC", kind: .value, min: -40, max: 200),
            SensorProfile(name: "current", unit: "A", kind: .value, min: 0, max: 100),
        ])
    static let fan = DeviceProfile(
        type: "fan", topics: ["plant/{device}/telemetry"], timestampUnit: .milliseconds,
        sensors: [
            SensorProfile(name: "temperature", unit: "degC", kind: .value, min: -40, max: 200),
            SensorProfile(name: "current", unit: "A", kind: .value, min: 0, max: 100),
        ])

    func decode(_ text: String, profile: DeviceProfile = motor, sensor: Int? = 1) throws(PayloadError) -> DecodedPayload {
        var out = DecodedPayload()
        var text = text
        let result = text.withUTF8 { bytes in
            Result { () throws(PayloadError) in
                try PayloadDecoder(profile: profile).decode(UnsafeRawBufferPointer(bytes), sensor: sensor, into: &out)
            }
        }
        try result.get()
        return out
    }

    func refusal(_ text: String, profile: DeviceProfile = motor, sensor: Int? = 1) -> PayloadError? {
        do {
            _ = try decode(text, profile: profile, sensor: sensor)
            return nil
        } catch {
            return error
        }
    }

    @Test func singleValue() throws {
        let out = try decode(#"{"seq": 17, "ts": 1750000000.125, "value": 61.5}"#)
        #expect(out.sequence == 17)
        #expect(out.timestamp == 1750000000.125)
        #expect(out.values == [.init(sensor: 1, value: 61.5)])
        #expect(out.blockSensor == nil)
    }

    @Test func severalSensorsInOneMessage() throws {
        let out = try decode(#"{"ts": 1750000000125, "seq": 3, "current": 4.1, "note": {"a": [1, "x", null]}, "temperature": -2.5e1}"#,
                             profile: Self.fan, sensor: nil)
        #expect(out.sequence == 3)
        #expect(out.timestamp == 1750000000.125)
        #expect(out.values == [.init(sensor: 1, value: 4.1), .init(sensor: 0, value: -25)])
    }

    @Test func block() throws {
        let out = try decode(#"{"seq": 9, "ts": 1750000000, "rate_hz": 4096, "values": [0.5, -1.25, 3e-3, 0]}"#, sensor: 0)
        #expect(out.blockSensor == 0)
        #expect(out.rateHz == 4096)
        #expect(out.samples == [0.5, -1.25, 0.003, 0])
        let defaultRate = try decode(#"{"seq": 9, "ts": 1750000000, "values": [1]}"#, sensor: 0)
        #expect(defaultRate.rateHz == 2048)
    }

    @Test func timestampUnits() throws {
        for (unit, raw) in [(TimestampUnit.seconds, "1750000000.5"), (.milliseconds, "1750000000500"),
                            (.microseconds, "1750000000500000"), (.nanoseconds, "1750000000500000000")] {
            var profile = Self.motor
            profile.timestampUnit = unit
            let out = try decode(#"{"seq": 1, "ts": \#(raw), "value": 1}"#, profile: profile)
            #expect(abs(out.timestamp - 1750000000.5) < 1e-6, "unit \(unit)")
        }
    }

    @Test(arguments: [
        ("", DeadLetterReason.invalidJSON),
        ("not json", .invalidJSON),
        (#"{"seq": 1, "ts": 1, "value": 2"#, .invalidJSON),
        (#"{"seq": 1, "ts": 1, "value": 2} x"#, .invalidJSON),
        (#"[1, 2]"#, .invalidJSON),
        (#"{"seq": 1, "ts": 1, "value": 2,}"#, .invalidJSON),
        (#"{"seq": 1, "ts": 1, "value": 01}"#, .invalidJSON),
        (#"{"seq": 1, "ts": 1, "value": 1, "value": 2}"#, .invalidJSON),
        (#"{"seq": 1, "ts": 1, "value": 1, "x": "\q"}"#, .invalidJSON),
        (#"{"seq": 1, "ts": 1, "value": "61.2"}"#, .wrongType),
        (#"{"seq": "1", "ts": 1, "value": 6}"#, .wrongType),
        (#"{"seq": 1.5, "ts": 1, "value": 6}"#, .wrongType),
        (#"{"seq": -1, "ts": 1, "value": 6}"#, .wrongType),
        (#"{"seq": 1, "ts": true, "value": 6}"#, .wrongType),
        (#"{"seq": 1, "ts": 1, "value": null}"#, .wrongType),
        (#"{"ts": 1, "value": 6}"#, .missingField),
        (#"{"seq": 1, "value": 6}"#, .missingField),
        (#"{"seq": 1, "ts": 1}"#, .missingField),
        (#"{"seq": 1, "ts": 1, "value": NaN}"#, .nonFinite),
        (#"{"seq": 1, "ts": 1, "value": -Infinity}"#, .nonFinite),
        (#"{"seq": 1, "ts": 1, "value": 1e999}"#, .nonFinite),
        (#"{"seq": 1, "ts": 1, "value": 200.5}"#, .outOfRange),
        (#"{"seq": 1, "ts": 1, "value": -40.01}"#, .outOfRange),
        (#"{"seq": 1, "ts": 0, "value": 1}"#, .outOfRange),
        (#"{"seq": 1, "ts": 1, "values": [1, 2]}"#, .wrongKind),
    ])
    func refusesSingleValue(payload: String, reason: DeadLetterReason) {
        #expect(refusal(payload)?.reason == reason, "\(payload)")
    }

    @Test func refusesBadBlocks() {
        #expect(refusal(#"{"seq": 1, "ts": 1, "value": 2}"#, sensor: 0)?.reason == .wrongKind)
        #expect(refusal(#"{"seq": 1, "ts": 1, "values": []}"#, sensor: 0)?.reason == .missingField)
        #expect(refusal(#"{"seq": 1, "ts": 1, "values": 3}"#, sensor: 0)?.reason == .wrongType)
        #expect(refusal(#"{"seq": 1, "ts": 1, "values": [1, "2"]}"#, sensor: 0)?.reason == .wrongType)
        #expect(refusal(#"{"seq": 1, "ts": 1, "values": [1, NaN]}"#, sensor: 0)?.reason == .nonFinite)
        #expect(refusal(#"{"seq": 1, "ts": 1, "values": [1, 2, 60]}"#, sensor: 0)?.reason == .outOfRange)
        #expect(refusal(#"{"seq": 1, "ts": 1, "values": [1, 2}"#, sensor: 0)?.reason == .invalidJSON)
        #expect(refusal(#"{"seq": 1, "ts": 1, "rate_hz": 0, "values": [1]}"#, sensor: 0)?.reason == .outOfRange)
        #expect(refusal(#"{"seq": 1, "ts": 1, "rate_hz": "fast", "values": [1]}"#, sensor: 0)?.reason == .wrongType)
    }

    @Test func refusesMultiSensorMessageWithoutSensors() {
        let error = refusal(#"{"seq": 1, "ts": 1, "speed": 3}"#, profile: Self.fan, sensor: nil)
        #expect(error?.reason == .missingField)
        #expect(error?.detail.contains("temperature") == true)
        #expect(refusal(#"{"seq": 1, "ts": 1, "temperature": 900}"#, profile: Self.fan, sensor: nil)?.reason == .outOfRange)
    }

    @Test func errorsNameTheField() {
        #expect(refusal(#"{"seq": 1, "ts": 1, "value": "hot"}"#)?.detail == "field 'value': expected a number, got a string")
        #expect(refusal(#"{"seq": 1, "ts": 1, "value": 300}"#)?.detail.contains("temperature = 300.0 is outside") == true)
    }

    /// The fast decimal path must round exactly as the standard library's parser does.
    @Test func numbersMatchTheStandardParser() throws {
        var generator = SystemRandomNumberGenerator()
        var texts = ["0", "-0", "0.1", "1e-7", "123456789012345678", "1234567890123456789012", "9007199254740993",
                     "0.30000000000000004", "2.2250738585072014e-308", "1.7976931348623157e308", "5e-324", "-12.5E+2",
                     // Around the short-decimal path's edges: 15 digits, 16, a fraction of 15 and 22 digits.
                     "123456789012345", "1234567890123456", "0.000000000000001", "99999999999999.9", "-0.5",
                     "0.1234567890123456789012", "4.35", "-3.14159"]
        for _ in 0..<5_000 {
            let value = Double(bitPattern: generator.next() & 0x7FEF_FFFF_FFFF_FFFF)
            texts.append("\(value)")
            texts.append(String(Double(Int64.random(in: -1_000_000...1_000_000)) / 10_000))
            // Samples as devices format them: a fixed count of decimals.
            let decimals = Int.random(in: 1...9)
            let scaled = Int64.random(in: -999_999_999...999_999_999)
            let digits = String(scaled.magnitude)
            let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
            texts.append((scaled < 0 ? "-" : "") + padded.dropLast(decimals) + "." + padded.suffix(decimals))
        }
        let wide = DeviceProfile(type: "wide", topics: ["w/{device}/{sensor}"],
                                 sensors: [SensorProfile(name: "x", unit: "", kind: .value, min: -.greatestFiniteMagnitude,
                                                         max: .greatestFiniteMagnitude)])
        for text in texts {
            let out = try decode(#"{"seq": 0, "ts": 1, "value": \#(text)}"#, profile: wide, sensor: 0)
            #expect(out.values.first?.value == Double(text), "\(text)")
        }
    }
}
