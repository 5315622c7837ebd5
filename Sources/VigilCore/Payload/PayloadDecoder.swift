/// Decodes the JSON payloads of one device type, as its profile describes them:
///
/// - one value: `{"seq": 17, "ts": 1750000000.125, "value": 0.53}` on a topic naming the sensor;
/// - several sensors: `{"seq": 17, "ts": ..., "temperature": 61.2, "current": 4.1}` on a topic
///   without `{sensor}`; fields that are not sensors of the profile are ignored;
/// - a block: `{"seq": 17, "ts": <first sample>, "rate_hz": 2048, "values": [...]}`, or the same
///   as a `BinaryBlock`.
///
/// Every value is checked against the profile: type, finiteness and range. A decoder keeps no
/// state between messages; one per writer thread reuses its buffers.
public struct PayloadDecoder: Sendable {
    private let profile: DeviceProfile
    private let sensorNames: [[UInt8]]
    private static let seqKey = Array("seq".utf8)
    private static let tsKey = Array("ts".utf8)
    private static let valueKey = Array("value".utf8)
    private static let valuesKey = Array("values".utf8)
    private static let rateKey = Array("rate_hz".utf8)

    public init(profile: DeviceProfile) {
        self.profile = profile
        sensorNames = profile.sensors.map { Array($0.name.utf8) }
    }

    /// Decodes `payload` for `sensor` (the index the topic named, or nil for a multi-sensor
    /// topic) into `out`, or throws the reason it is refused.
    public func decode(_ payload: UnsafeRawBufferPointer, sensor: Int?, into out: inout DecodedPayload) throws(PayloadError) {
        out.values.removeAll(keepingCapacity: true)
        out.samples.removeAll(keepingCapacity: true)
        out.blockSensor = nil
        out.rateHz = 0
        if let sensor, BinaryBlock.isBinary(payload) { return try decodeBinary(payload, sensor: sensor, into: &out) }

        var scanner = JSONScanner(payload)
        guard !payload.isEmpty else { throw PayloadError(.invalidJSON, "empty payload") }
        try scanner.expect(UInt8(ascii: "{"), "a JSON object")
        var sequence: Int64?
        var timestamp: Double?
        var value: Double?
        var rateHz: Double?
        var sawValues = false

        if !scanner.consume(UInt8(ascii: "}")) {
            repeat {
                let (key, escaped) = try scanner.string()
                try scanner.expect(UInt8(ascii: ":"), "':' after a field name")
                if escaped {
                    // Escaped names are never ours; skip the value, still validating it.
                    try scanner.skipValue()
                } else if scanner.bytes(in: key, equal: Self.seqKey) {
                    guard sequence == nil else { throw PayloadError(.invalidJSON, "field 'seq' appears twice") }
                    let raw = try number(&scanner, field: "seq")
                    guard raw >= 0, raw <= 9.007199254740992e15, raw == raw.rounded(.towardZero) else {
                        throw PayloadError(.wrongType, "field 'seq': expected a non-negative integer, got \(raw)")
                    }
                    sequence = Int64(raw)
                } else if scanner.bytes(in: key, equal: Self.tsKey) {
                    guard timestamp == nil else { throw PayloadError(.invalidJSON, "field 'ts' appears twice") }
                    timestamp = try number(&scanner, field: "ts") * profile.timestampUnit.toSeconds
                } else if sensor != nil && scanner.bytes(in: key, equal: Self.valueKey) {
                    guard value == nil else { throw PayloadError(.invalidJSON, "field 'value' appears twice") }
                    value = try number(&scanner, field: "value")
                } else if sensor != nil && scanner.bytes(in: key, equal: Self.valuesKey) {
                    guard !sawValues else { throw PayloadError(.invalidJSON, "field 'values' appears twice") }
                    sawValues = true
                    try samples(&scanner, into: &out.samples)
                } else if sensor != nil && scanner.bytes(in: key, equal: Self.rateKey) {
                    guard rateHz == nil else { throw PayloadError(.invalidJSON, "field 'rate_hz' appears twice") }
                    rateHz = try number(&scanner, field: "rate_hz")
                } else if sensor == nil, let index = sensorNames.firstIndex(where: { scanner.bytes(in: key, equal: $0) }) {
                    guard !out.values.contains(where: { $0.sensor == index }) else {
                        throw PayloadError(.invalidJSON, "field '\(profile.sensors[index].name)' appears twice")
                    }
                    out.values.append(.init(sensor: index, value: try number(&scanner, field: profile.sensors[index].name)))
                } else {
                    try scanner.skipValue()
                }
            } while scanner.consume(UInt8(ascii: ","))
            try scanner.expect(UInt8(ascii: "}"), "',' or '}'")
        }
        scanner.skipWhitespace()
        guard scanner.atEnd else { throw scanner.invalid("trailing characters after the object") }

        guard let sequence else { throw PayloadError(.missingField, "field 'seq' is required") }
        guard let timestamp else { throw PayloadError(.missingField, "field 'ts' is required") }
        guard timestamp > 0 else { throw PayloadError(.outOfRange, "field 'ts' must be after 1970, got \(timestamp)") }
        out.sequence = sequence
        out.timestamp = timestamp

        if let sensor {
            let spec = profile.sensors[sensor]
            switch (value, sawValues) {
            case (nil, false):
                throw PayloadError(.missingField, "needs 'value' or 'values' for sensor \(spec.name)")
            case (.some, true):
                throw PayloadError(.invalidJSON, "has both 'value' and 'values'")
            case (.some(let value), false):
                guard spec.kind == .value else {
                    throw PayloadError(.wrongKind, "sensor \(spec.name) sends sample blocks ('values'), got a single 'value'")
                }
                try check(value, sensor: sensor)
                out.values.append(.init(sensor: sensor, value: value))
            case (nil, true):
                guard spec.kind == .block else {
                    throw PayloadError(.wrongKind, "sensor \(spec.name) sends single values ('value'), got a block 'values'")
                }
                guard !out.samples.isEmpty else { throw PayloadError(.missingField, "field 'values' is empty") }
                try acceptBlock(sensor: sensor, rateHz: rateHz, into: &out)
            }
        } else {
            guard !out.values.isEmpty else {
                throw PayloadError(.missingField, "no sensor field; device type \(profile.type) expects some of: \(profile.sensors.map(\.name).joined(separator: ", "))")
            }
            for item in out.values { try check(item.value, sensor: item.sensor) }
        }
    }

    /// A binary block (`BinaryBlock`) on a block sensor's topic.
    private func decodeBinary(_ payload: UnsafeRawBufferPointer, sensor: Int, into out: inout DecodedPayload) throws(PayloadError) {
        let spec = profile.sensors[sensor]
        guard spec.kind == .block else {
            throw PayloadError(.wrongKind, "sensor \(spec.name) sends single values, got a binary block")
        }
        let header = try BinaryBlock.decode(payload, into: &out.samples)
        guard header.timestamp > 0 else { throw PayloadError(.outOfRange, "field 'ts' must be after 1970, got \(header.timestamp)") }
        out.sequence = header.seq
        out.timestamp = header.timestamp
        // A rate of 0 in the header means the profile's.
        try acceptBlock(sensor: sensor, rateHz: header.rateHz == 0 ? nil : header.rateHz, into: &out)
    }

    /// A block's samples checked against the sensor's range, and its rate (its own, else the
    /// profile's) required positive: the JSON and binary forms alike.
    private func acceptBlock(sensor: Int, rateHz: Double?, into out: inout DecodedPayload) throws(PayloadError) {
        let spec = profile.sensors[sensor]
        for sample in out.samples where !(sample >= spec.min && sample <= spec.max) {
            guard sample.isFinite else { throw PayloadError(.nonFinite, "a sample of \(spec.name) is NaN or infinite") }
            try check(sample, sensor: sensor)
        }
        let rate = rateHz ?? spec.rateHz ?? 0
        guard rate > 0 else { throw PayloadError(.outOfRange, "field 'rate_hz' must be positive, got \(rate)") }
        out.blockSensor = sensor
        out.rateHz = rate
    }

    private func check(_ value: Double, sensor: Int) throws(PayloadError) {
        let spec = profile.sensors[sensor]
        guard value >= spec.min && value <= spec.max else {
            throw PayloadError(.outOfRange, "\(spec.name) = \(value) is outside [\(spec.min), \(spec.max)] \(spec.unit)")
        }
    }

    private func number(_ scanner: inout JSONScanner, field: @autoclosure () -> String) throws(PayloadError) -> Double {
        do {
            return try scanner.number()
        } catch {
            switch error {
            case .wrongType(let found):
                throw PayloadError(.wrongType, "field '\(field())': expected a number, got \(found)")
            case .nonFinite:
                throw PayloadError(.nonFinite, "field '\(field())' is NaN or infinite")
            case .invalid(let why):
                throw scanner.invalid("field '\(field())': \(why)")
            }
        }
    }

    private func samples(_ scanner: inout JSONScanner, into samples: inout [Double]) throws(PayloadError) {
        scanner.skipWhitespace()
        guard scanner.peek == UInt8(ascii: "[") else {
            let found: String
            do {
                _ = try scanner.number()
                found = "a number"
            } catch {
                switch error {
                case .wrongType(let what): found = what
                case .nonFinite: found = "NaN or Infinity"
                case .invalid: throw scanner.invalid("field 'values': expected an array")
                }
            }
            throw PayloadError(.wrongType, "field 'values': expected an array of numbers, got \(found)")
        }
        try scanner.expect(UInt8(ascii: "["), "'['")
        if scanner.consume(UInt8(ascii: "]")) { return }
        repeat {
            samples.append(try number(&scanner, field: "values[\(samples.count)]"))
        } while scanner.consume(UInt8(ascii: ","))
        try scanner.expect(UInt8(ascii: "]"), "',' or ']' in 'values'")
    }
}
