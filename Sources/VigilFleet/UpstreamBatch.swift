import CZlib
import VigilCore

/// What an agent sends upstream: a numbered batch of feature windows, maintenance events and
/// predictions, compressed. The trainer stores a batch in one transaction, idempotently by
/// (agent, epoch, seq), then acknowledges the highest sequence of that epoch it holds without a
/// gap; the agent deletes only what is acknowledged. The epoch is drawn once per agent database,
/// so a new database under an old agent id starts its own sequence instead of having its
/// batches taken for repeats. One definition for both sides.
///
/// On the wire (`<upstream>/<agent>/batch`): "VUB2", the plain part's length (u32 LE), then the
/// plain part compressed with zlib. The plain part is the JSON's length (u32 LE), the JSON
/// (format 2: agent, seq, feature sets with their canonical windows, the devices named, events,
/// predictions, the series of the raw readings, and how many feature windows and readings
/// follow), then one binary record per feature window, little-endian: device index u32, set id
/// i64, start f64, end f64, sample count u32, and the set's values as f64; then one per raw
/// reading: series index u32, seq i64, ts f64, and either 0 u8 and the value f64, or 1 u8, the
/// rate f64, the sample count u32 and the samples as f32. Feature values are computed doubles with all their digits: as text
/// they cost more to write, read and send than their 8 bytes. The answer is an `UpstreamAck`.
public struct UpstreamBatch: Sendable, Equatable {
    /// A feature window's definition, as the agent's `feature_sets` row: `id` is the agent's,
    /// which the batch's feature rows refer to.
    public struct FeatureSet: Sendable, Equatable {
        public var id: Int64
        public var identity: FeatureSetIdentity
        public init(id: Int64, identity: FeatureSetIdentity) {
            self.id = id
            self.identity = identity
        }
    }

    /// One feature window.
    public struct Feature: Sendable, Equatable {
        public var device: String
        public var set: Int64
        public var start: Double
        public var end: Double
        public var count: Int
        public var values: [Double]
        public init(device: String, set: Int64, start: Double, end: Double, count: Int, values: [Double]) {
            self.device = device; self.set = set; self.start = start; self.end = end; self.count = count; self.values = values
        }
    }

    /// One raw reading, as the agent's `readings` row: a value, or a block of samples.
    public struct Reading: Sendable, Equatable {
        public var device: String
        public var sensor: String
        public var deviceType: String
        public var seq: Int64
        public var timestamp: Double
        public var value: Double?
        public var rateHz: Double?
        public var samples: [Float]?
        public init(device: String, sensor: String, deviceType: String, seq: Int64, timestamp: Double, value: Double? = nil,
                    rateHz: Double? = nil, samples: [Float]? = nil) {
            self.device = device; self.sensor = sensor; self.deviceType = deviceType; self.seq = seq
            self.timestamp = timestamp; self.value = value; self.rateHz = rateHz; self.samples = samples
        }
    }

    /// One scored window, as the agent's `predictions` row.
    public struct Prediction: Sendable, Equatable {
        public var device: String
        public var model: String
        public var version: String
        public var windowEnd: Double
        public var predicted: String
        public var probabilities: [Double]
        public init(device: String, model: String, version: String, windowEnd: Double, predicted: String, probabilities: [Double]) {
            self.device = device; self.model = model; self.version = version
            self.windowEnd = windowEnd; self.predicted = predicted; self.probabilities = probabilities
        }
    }

    public static let magic: [UInt8] = Array("VUB2".utf8)
    public static let formatVersion = 2

    public var agent: String
    /// The sending database's identity (random, 16 hex digits).
    public var epoch: String
    public var sequence: Int64
    public var featureSets: [FeatureSet]
    public var features: [Feature]
    public var events: [MaintenanceEvent]
    public var predictions: [Prediction]
    /// Raw readings, when the agent's config uploads them for their device type.
    public var readings: [Reading]

    public init(agent: String, epoch: String, sequence: Int64, featureSets: [FeatureSet], features: [Feature],
                events: [MaintenanceEvent], predictions: [Prediction] = [], readings: [Reading] = []) {
        self.agent = agent
        self.epoch = epoch
        self.sequence = sequence
        self.featureSets = featureSets
        self.features = features
        self.events = events
        self.predictions = predictions
        self.readings = readings
    }

    /// Rows it carries.
    public var rowCount: Int { features.count + events.count + predictions.count + readings.count }

    // MARK: Encoding

    public func encoded() -> [UInt8] {
        var devices: [String] = []
        var deviceIndex: [String: UInt32] = [:]
        var records: [UInt8] = []
        records.reserveCapacity(features.reduce(0) { $0 + 32 + 8 * $1.values.count })
        for feature in features {
            let index = deviceIndex[feature.device] ?? {
                devices.append(feature.device)
                deviceIndex[feature.device] = UInt32(devices.count - 1)
                return UInt32(devices.count - 1)
            }()
            Self.append(index, to: &records)
            Self.append(UInt64(bitPattern: feature.set), to: &records)
            Self.append(feature.start.bitPattern, to: &records)
            Self.append(feature.end.bitPattern, to: &records)
            Self.append(UInt32(clamping: feature.count), to: &records)
            for value in feature.values { Self.append(value.bitPattern, to: &records) }
        }
        var series: [JSONValue] = []
        var seriesIndex: [String: UInt32] = [:]
        for reading in readings {
            let key = reading.device + "\u{0}" + reading.sensor
            let index = seriesIndex[key] ?? {
                series.append(["device": .string(reading.device), "sensor": .string(reading.sensor),
                               "device_type": .string(reading.deviceType)])
                seriesIndex[key] = UInt32(series.count - 1)
                return UInt32(series.count - 1)
            }()
            Self.append(index, to: &records)
            Self.append(UInt64(bitPattern: reading.seq), to: &records)
            Self.append(reading.timestamp.bitPattern, to: &records)
            if let samples = reading.samples {
                records.append(1)
                Self.append((reading.rateHz ?? 0).bitPattern, to: &records)
                Self.append(UInt32(samples.count), to: &records)
                for sample in samples { Self.append(sample.bitPattern, to: &records) }
            } else {
                records.append(0)
                Self.append((reading.value ?? .nan).bitPattern, to: &records)
            }
        }
        let json: JSONValue = [
            "format": .number(Double(Self.formatVersion)), "agent": .string(agent), "epoch": .string(epoch),
            "seq": .number(Double(sequence)),
            "feature_sets": .array(featureSets.map {
                ["id": .number(Double($0.id)), "device_type": .string($0.identity.deviceType), "sensor": .string($0.identity.sensor),
                 "window": .string($0.identity.window.canonical), "names": .array($0.identity.names.map(JSONValue.string))]
            }),
            "devices": .array(devices.map(JSONValue.string)),
            "features": .number(Double(features.count)),
            "series": .array(series),
            "readings": .number(Double(readings.count)),
            "events": .array(events.map { event -> JSONValue in
                var fields: [(key: String, value: JSONValue)] = [("device", .string(event.device)), ("kind", .string(event.kind.rawValue)),
                                                                 ("ts", .number(event.timestamp))]
                if let mode = event.mode { fields.append(("mode", .string(mode))) }
                if let source = event.source { fields.append(("source", .string(source))) }
                if let note = event.note { fields.append(("note", .string(note))) }
                return .object(fields)
            }),
            "predictions": .array(predictions.map {
                ["device": .string($0.device), "model": .string($0.model), "version": .string($0.version),
                 "window_end": .number($0.windowEnd), "predicted": .string($0.predicted),
                 "probabilities": .array($0.probabilities.map(JSONValue.number))]
            }),
        ]
        let text = Array(json.serialized(indent: 0).utf8)
        var plain: [UInt8] = []
        plain.reserveCapacity(4 + text.count + records.count)
        Self.append(UInt32(text.count), to: &plain)
        plain += text
        plain += records
        return Self.pack(plain)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// The wire frame around a batch's plain part: magic, length, zlib (level 1: feature values
    /// are nearly incompressible, and the agent's time is better spent elsewhere).
    public static func pack(_ plain: [UInt8]) -> [UInt8] {
        var bound = compressBound(uLong(plain.count))
        var compressed = [UInt8](repeating: 0, count: Int(bound))
        let rc = compress2(&compressed, &bound, plain, uLong(plain.count), 1)
        precondition(rc == Z_OK, "zlib compress2 failed: \(rc)")
        var bytes = Self.magic
        withUnsafeBytes(of: UInt32(plain.count).littleEndian) { bytes += $0 }
        return bytes + compressed.prefix(Int(bound))
    }

    // MARK: Decoding

    /// Decodes a batch, refusing anything malformed or larger than `maxPlainBytes` unpacked.
    public init(bytes: [UInt8], maxPlainBytes: Int = 64 << 20) throws(FleetError) {
        let plain = try Self.unpack(bytes, maxPlainBytes: maxPlainBytes)
        var reader = ByteReader(plain)
        let length = try reader.uint32()
        guard length <= plain.count - 4 else { throw FleetError("malformed", "the batch's JSON runs past its end") }
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(plain[4..<4 + Int(length)]))
        } catch {
            throw FleetError("malformed", error.description)
        }
        reader.offset = 4 + Int(length)
        self = try Self.parse(json, records: &reader)
    }

    /// A batch's JSON out of its wire frame, refusing a frame that is malformed or unpacks to
    /// more than `maxPlainBytes`.
    public static func unpack(_ bytes: [UInt8], maxPlainBytes: Int = 64 << 20) throws(FleetError) -> [UInt8] {
        guard bytes.count > 8, Array(bytes[0..<4]) == Self.magic else { throw FleetError("malformed", "not an upstream batch (magic)") }
        let length = Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16 | Int(bytes[7]) << 24
        guard length > 0, length <= maxPlainBytes else {
            throw FleetError("oversized", "batch unpacks to \(length) bytes, limit \(maxPlainBytes)")
        }
        var plain = [UInt8](repeating: 0, count: length)
        var plainLength = uLong(length)
        let rc = bytes.withUnsafeBufferPointer { buffer in
            uncompress(&plain, &plainLength, buffer.baseAddress! + 8, uLong(bytes.count - 8))
        }
        guard rc == Z_OK, Int(plainLength) == length else { throw FleetError("malformed", "batch does not decompress (zlib \(rc))") }
        return plain
    }

    private static func parse(_ json: JSONValue, records: inout ByteReader) throws(FleetError) -> UpstreamBatch {
        do {
            let reader = try JSONObjectReader(json, file: "batch")
            let format = try reader.integer("format")
            guard format == formatVersion else {
                throw FleetError("unsupported_format", "batch format \(format); this trainer reads \(formatVersion)")
            }
            let agent = try reader.string("agent")
            let epoch = try reader.string("epoch")
            let sequence = try reader.integer("seq")
            var sets: [FeatureSet] = []
            for entry in try reader.objects("feature_sets") {
                let id = try entry.integer("id")
                let deviceType = try entry.string("device_type")
                let sensor = try entry.string("sensor")
                let text = try entry.string("window")
                let names = try entry.strings("names")
                guard let window = FeatureWindowSpec.Window(canonical: text) else {
                    throw entry.error("window", "\"\(text)\" is not a window (count:SIZE:HOP or time:SECONDS:HOP)")
                }
                sets.append(FeatureSet(id: Int64(id), identity: FeatureSetIdentity(deviceType: deviceType, sensor: sensor,
                                                                                   window: window, names: names)))
            }
            let devices = try reader.strings("devices")
            let featureCount = try reader.integer("features")
            let widths = Dictionary(sets.map { ($0.id, $0.identity.names.count) }, uniquingKeysWith: { first, _ in first })
            var features: [Feature] = []
            features.reserveCapacity(min(featureCount, records.remaining / 32))
            for index in 0..<max(0, featureCount) {
                let device = Int(try records.uint32())
                let set = Int64(bitPattern: try records.uint64())
                let start = Double(bitPattern: try records.uint64())
                let end = Double(bitPattern: try records.uint64())
                let count = Int(try records.uint32())
                guard device < devices.count else { throw FleetError("malformed", "feature window \(index) names device \(device) of \(devices.count)") }
                guard let width = widths[set] else { throw FleetError("malformed", "feature window \(index) names set \(set), which the batch does not define") }
                var values: [Double] = []
                values.reserveCapacity(width)
                for _ in 0..<width { values.append(Double(bitPattern: try records.uint64())) }
                features.append(Feature(device: devices[device], set: set, start: start, end: end, count: count, values: values))
            }
            var series: [(device: String, sensor: String, deviceType: String)] = []
            for entry in try reader.objects("series") {
                let device = try entry.string("device")
                let sensor = try entry.string("sensor")
                let deviceType = try entry.string("device_type")
                series.append((device, sensor, deviceType))
            }
            let readingCount = try reader.integer("readings")
            var readings: [Reading] = []
            readings.reserveCapacity(min(readingCount, records.remaining / 21))
            for index in 0..<max(0, readingCount) {
                let position = Int(try records.uint32())
                guard position < series.count else { throw FleetError("malformed", "reading \(index) names series \(position) of \(series.count)") }
                let origin = series[position]
                let seq = Int64(bitPattern: try records.uint64())
                let timestamp = Double(bitPattern: try records.uint64())
                var reading = Reading(device: origin.device, sensor: origin.sensor, deviceType: origin.deviceType, seq: seq,
                                      timestamp: timestamp)
                if try records.uint8() == 1 {
                    reading.rateHz = Double(bitPattern: try records.uint64())
                    let count = Int(try records.uint32())
                    guard count <= records.remaining / 4 else { throw FleetError("malformed", "reading \(index) claims \(count) samples") }
                    var samples: [Float] = []
                    samples.reserveCapacity(count)
                    for _ in 0..<count { samples.append(Float(bitPattern: try records.uint32())) }
                    reading.samples = samples
                } else {
                    reading.value = Double(bitPattern: try records.uint64())
                }
                readings.append(reading)
            }
            guard records.remaining == 0 else { throw FleetError("malformed", "\(records.remaining) bytes after the last record") }
            var events: [MaintenanceEvent] = []
            if case .array(let items)? = reader.value("events") {
                for item in items {
                    events.append(try MaintenanceEvent(payload: Array(item.serialized(indent: 0).utf8), topicDevice: ""))
                }
            }
            var predictions: [Prediction] = []
            if reader.value("predictions") != nil {
                for entry in try reader.objects("predictions") {
                    let device = try entry.string("device")
                    let model = try entry.string("model")
                    let version = try entry.string("version")
                    let windowEnd = try entry.double("window_end")
                    let predicted = try entry.string("predicted")
                    let probabilities = try entry.numbers("probabilities")
                    predictions.append(Prediction(device: device, model: model, version: version, windowEnd: windowEnd,
                                                  predicted: predicted, probabilities: probabilities))
                }
            }
            try reader.rejectUnknownFields()
            guard sequence >= 0, !agent.isEmpty else { throw reader.error("seq", "needs a non-negative seq and an agent") }
            return UpstreamBatch(agent: agent, epoch: epoch, sequence: Int64(sequence), featureSets: sets, features: features, events: events,
                                 predictions: predictions, readings: readings)
        } catch let error as FleetError {
            throw error
        } catch let error as ConfigurationError {
            throw FleetError("malformed", "\(error.field): \(error.problem)")
        } catch {
            throw FleetError("malformed", "\(error)")
        }
    }
}

/// Reads little-endian integers from a batch's binary part, refusing to read past its end.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func uint8() throws(FleetError) -> UInt8 { UInt8(truncatingIfNeeded: try read(1)) }
    mutating func uint32() throws(FleetError) -> UInt32 { UInt32(truncatingIfNeeded: try read(4)) }
    mutating func uint64() throws(FleetError) -> UInt64 { try read(8) }

    private mutating func read(_ size: Int) throws(FleetError) -> UInt64 {
        guard remaining >= size else { throw FleetError("malformed", "the batch ends inside a record") }
        var value: UInt64 = 0
        for index in 0..<size { value |= UInt64(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }
}
