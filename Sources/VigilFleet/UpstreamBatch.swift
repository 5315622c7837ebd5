import CZlib
import VigilCore

/// What an agent sends upstream: a numbered batch of feature windows, maintenance events and
/// predictions, compressed. The trainer stores a batch in one transaction, idempotently by
/// (agent, seq), then acknowledges the highest sequence it holds without a gap; the agent
/// deletes only what is acknowledged. One definition for both sides.
///
/// On the wire (`<upstream>/<agent>/batch`): "VUB1", the JSON's length (u32 little-endian),
/// then the JSON compressed with zlib; the JSON's `format` is the batch format (2: windows in
/// their canonical text). The answer is an `UpstreamAck`.
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

    public static let magic: [UInt8] = Array("VUB1".utf8)
    public static let formatVersion = 2

    public var agent: String
    public var sequence: Int64
    public var featureSets: [FeatureSet]
    public var features: [Feature]
    public var events: [MaintenanceEvent]
    public var predictions: [Prediction]

    public init(agent: String, sequence: Int64, featureSets: [FeatureSet], features: [Feature], events: [MaintenanceEvent],
                predictions: [Prediction] = []) {
        self.agent = agent
        self.sequence = sequence
        self.featureSets = featureSets
        self.features = features
        self.events = events
        self.predictions = predictions
    }

    /// Rows it carries.
    public var rowCount: Int { features.count + events.count + predictions.count }

    // MARK: Encoding

    public func encoded() -> [UInt8] {
        let json: JSONValue = [
            "format": .number(Double(Self.formatVersion)), "agent": .string(agent), "seq": .number(Double(sequence)),
            "feature_sets": .array(featureSets.map {
                ["id": .number(Double($0.id)), "device_type": .string($0.identity.deviceType), "sensor": .string($0.identity.sensor),
                 "window": .string($0.identity.window.canonical), "names": .array($0.identity.names.map(JSONValue.string))]
            }),
            "features": .array(features.map {
                ["device": .string($0.device), "set": .number(Double($0.set)), "start": .number($0.start), "end": .number($0.end),
                 "count": .number(Double($0.count)), "values": .array($0.values.map(JSONValue.number))]
            }),
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
        return Self.pack(Array(json.serialized(indent: 0).utf8))
    }

    /// The wire frame around a batch's JSON: magic, length, zlib.
    public static func pack(_ plain: [UInt8]) -> [UInt8] {
        var bound = compressBound(uLong(plain.count))
        var compressed = [UInt8](repeating: 0, count: Int(bound))
        let rc = compress2(&compressed, &bound, plain, uLong(plain.count), 6)
        precondition(rc == Z_OK, "zlib compress2 failed: \(rc)")
        var bytes = Self.magic
        withUnsafeBytes(of: UInt32(plain.count).littleEndian) { bytes += $0 }
        return bytes + compressed.prefix(Int(bound))
    }

    // MARK: Decoding

    /// Decodes a batch, refusing anything malformed or larger than `maxPlainBytes` unpacked.
    public init(bytes: [UInt8], maxPlainBytes: Int = 64 << 20) throws(FleetError) {
        let plain = try Self.unpack(bytes, maxPlainBytes: maxPlainBytes)
        let json: JSONValue
        do {
            json = try JSONParser.parse(plain)
        } catch {
            throw FleetError("malformed", error.description)
        }
        self = try Self.parse(json)
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

    private static func parse(_ json: JSONValue) throws(FleetError) -> UpstreamBatch {
        do {
            let reader = try JSONObjectReader(json, file: "batch")
            let format = try reader.integer("format")
            guard format == formatVersion else {
                throw FleetError("unsupported_format", "batch format \(format); this trainer reads \(formatVersion)")
            }
            let agent = try reader.string("agent")
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
            var features: [Feature] = []
            for entry in try reader.objects("features") {
                let device = try entry.string("device")
                let set = try entry.integer("set")
                let start = try entry.double("start")
                let end = try entry.double("end")
                let count = try entry.integer("count")
                let values = try entry.numbers("values")
                features.append(Feature(device: device, set: Int64(set), start: start, end: end, count: count, values: values))
            }
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
            return UpstreamBatch(agent: agent, sequence: Int64(sequence), featureSets: sets, features: features, events: events,
                                 predictions: predictions)
        } catch let error as FleetError {
            throw error
        } catch let error as ConfigurationError {
            throw FleetError("malformed", "\(error.field): \(error.problem)")
        } catch {
            throw FleetError("malformed", "\(error)")
        }
    }
}
