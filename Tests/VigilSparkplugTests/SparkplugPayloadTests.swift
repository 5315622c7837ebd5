import Testing
import VigilCore
@testable import VigilSparkplug

/// The Sparkplug B decoder against payloads Google's protobuf runtime encoded (Fixtures, made by
/// `make_payloads.py` from Eclipse Tahu's definitions), against malformed bytes, and fuzzed.
@Suite("Sparkplug B payloads")
struct SparkplugPayloadTests {
    struct Fixture: Sendable {
        let bytes: [UInt8]
        let described: JSONValue
    }

    static let fixtures: [Fixture] = {
        let path = String(#filePath.dropLast("SparkplugPayloadTests.swift".count)) + "Fixtures/payloads.jsonl"
        guard let file = try? FileSystem.read(path) else { return [] }
        return file.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard let described = try? JSONParser.parse(Array(line)), case .string(let hex)? = described["hex"] else { return nil }
            return Fixture(bytes: bytes(hex: hex), described: described)
        }
    }()

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8).map { $0 <= 57 ? $0 - 48 : $0 - 87 }
        return stride(from: 0, to: digits.count, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    static func number(_ value: JSONValue?) -> Double? {
        if case .number(let number)? = value { number } else { nil }
    }

    @Test func everyFixtureDecodesToWhatItsEncoderWasGiven() throws {
        #expect(Self.fixtures.count == 150)
        var checkedArrays = 0
        var checkedScalars = 0
        for (line, fixture) in Self.fixtures.enumerated() {
            let payload = try SparkplugPayload(decoding: fixture.bytes)
            let described = fixture.described
            #expect(payload.timestamp.map { Double($0) } == Self.number(described["timestamp"]), "line \(line + 1)")
            #expect(payload.seq.map { Double($0) } == Self.number(described["seq"]), "line \(line + 1)")
            guard case .array(let metrics)? = described["metrics"] else {
                Issue.record("line \(line + 1): no metrics")
                continue
            }
            #expect(payload.metrics.count == metrics.count)
            for (metric, expected) in zip(payload.metrics, metrics) {
                let context = "line \(line + 1), \(expected.serialized(indent: 0).prefix(80))"
                if case .string(let name)? = expected["name"] { #expect(metric.name == name, "\(context)") } else { #expect(metric.name == nil) }
                #expect(metric.alias.map { Double($0) } == Self.number(expected["alias"]), "\(context)")
                #expect(metric.timestamp.map { Double($0) } == Self.number(expected["timestamp"]), "\(context)")
                let type = try #require(SparkplugDataType(rawValue: UInt32(Self.number(expected["datatype"]) ?? 0)))
                #expect(metric.dataType == (expected["datatype_sent"] == .bool(true) ? type : nil), "\(context)")
                #expect(metric.isNull == (expected["is_null"] == .bool(true)), "\(context)")
                guard !metric.isNull, let value = metric.value else { continue }
                switch expected["value"] {
                case .array(let items)?:
                    guard case .bytes(let raw) = value else {
                        Issue.record("\(context): an array's value is \(value)")
                        continue
                    }
                    var samples: [Double] = []
                    #expect(type.samples(raw, into: &samples), "\(context)")
                    #expect(samples == items.map { Self.number($0) ?? .nan }, "\(context)")
                    checkedArrays += 1
                case .number(let number)?:
                    #expect(type.number(value) == number, "\(context)")
                    checkedScalars += 1
                case .string(let text)?:
                    #expect(value == .string(text), "\(context)")
                default:
                    Issue.record("\(context): unexpected description")
                }
            }
        }
        #expect(checkedArrays > 50)
        #expect(checkedScalars > 200)
    }

    @Test func encodingThenDecodingGivesThePayloadBack() throws {
        for fixture in Self.fixtures {
            let payload = try SparkplugPayload(decoding: fixture.bytes)
            #expect(try SparkplugPayload(decoding: payload.encoded()) == payload)
        }
        let request = SparkplugPayload.rebirthRequest(timestamp: 1_750_000_000_123)
        let decoded = try SparkplugPayload(decoding: request.encoded())
        #expect(decoded.metrics.first?.name == "Node Control/Rebirth")
        #expect(decoded.metrics.first?.value == .boolean(true))
    }

    @Test(arguments: [
        ([0x08], "a varint runs past the end"),
        ([0x12, 0x05, 0x0A, 0x01], "runs past the end"),
        ([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], "longer than 64 bits"),
        ([0x0A, 0x00], "payload timestamp has wire type 2"),
        ([0x12, 0x03, 0x0A, 0x01, 0xFF], "not UTF-8"),
        ([0x2B], "groups are not used"),
        ([0x0E], "unknown wire type"),
        ([0x00, 0x00], "field number 0"),
        ([0x12, 0x02, 0x65, 0x00], "a 32-bit field runs past the end"),
    ] as [([UInt8], String)])
    func malformedBytesAreRefusedSayingWhy(bytes: [UInt8], says: String) {
        #expect {
            _ = try SparkplugPayload(decoding: bytes)
        } throws: { error in
            guard let error = error as? PayloadError else { return false }
            return error.reason == .invalidProtobuf && error.detail.contains(says)
        }
    }

    /// Mutated fixtures (bits flipped, bytes cut, inserted or duplicated): each decodes or is
    /// refused as invalid protobuf, never crashes or hangs, and what decodes re-encodes to itself.
    @Test func fuzzedPayloadsDecodeOrAreRefused() throws {
        var random = SeededRandom(seed: 12, stream: 1)
        var decoded = 0
        var refused = 0
        for round in 0..<30_000 {
            var bytes = Self.fixtures[round % Self.fixtures.count].bytes
            for _ in 0..<Int(random.uniform(1...4)) where !bytes.isEmpty {
                let at = Int(random.uniform(0...Double(bytes.count - 1)))
                switch Int(random.uniform(0...3.99)) {
                case 0: bytes[at] ^= UInt8(1) << UInt8(random.uniform(0...7.99))
                case 1: bytes.removeSubrange(at...)
                case 2: bytes.insert(UInt8(random.uniform(0...255.99)), at: at)
                default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 8)], at: at)
                }
            }
            do {
                let payload = try SparkplugPayload(decoding: bytes)
                let again = try SparkplugPayload(decoding: payload.encoded())
                #expect(again == payload, "\(bytes) decoded to \(payload), re-encoded to \(again)")
                decoded += 1
            } catch {
                #expect(error.reason == .invalidProtobuf)
                refused += 1
            }
        }
        #expect(decoded > 1_000 && refused > 1_000)
    }
}

@Suite("Sparkplug B topics")
struct SparkplugTopicTests {
    @Test func parsesNodeAndDeviceTopics() throws {
        let device = try SparkplugTopic(parsing: "spBv1.0/plant-1/DDATA/line-4/fan-07")
        #expect(device == SparkplugTopic(group: "plant-1", type: .deviceData, node: "line-4", device: "fan-07"))
        #expect(device.description == "spBv1.0/plant-1/DDATA/line-4/fan-07")
        let node = try SparkplugTopic(parsing: "spBv1.0/plant-1/NBIRTH/line-4")
        #expect(node.type == .nodeBirth && node.device == nil)
        #expect(SparkplugTopic.state(hostID: "vigil") == "spBv1.0/STATE/vigil")
    }

    @Test(arguments: ["spBv1.0/plant/DDATA/line", "spBv1.0/plant/NDATA/line/fan", "spBv1.0/plant/XDATA/line",
                      "spBv1.0/plant//line", "spAv1.0/plant/NDATA/line", "spBv1.0/STATE/vigil"])
    func refusesMalformedTopics(topic: String) {
        #expect(throws: PayloadError.self) { try SparkplugTopic(parsing: topic) }
    }
}
