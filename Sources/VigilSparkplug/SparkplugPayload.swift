import VigilCore

/// A Sparkplug B payload (`Payload` in Eclipse Tahu's `sparkplug_b.proto`): when it was sent, its
/// edge node's sequence number (0 to 255), and its metrics. Decoding refuses malformed protobuf
/// with a reason that says where; fields Vigil does not use are skipped.
public struct SparkplugPayload: Sendable, Equatable {
    /// Milliseconds since 1970 at which the message was sent.
    public var timestamp: UInt64?
    public var seq: UInt64?
    public var metrics: [SparkplugMetric]

    public init(timestamp: UInt64? = nil, seq: UInt64? = nil, metrics: [SparkplugMetric] = []) {
        self.timestamp = timestamp
        self.seq = seq
        self.metrics = metrics
    }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(PayloadError) {
        metrics = []
        var reader = ProtobufReader(bytes)
        while !reader.atEnd {
            let (field, wireType) = try reader.field()
            switch field {
            case 1:
                try ProtobufReader.check(wireType, is: .varint, field: "payload timestamp")
                timestamp = try reader.varint()
            case 2:
                try ProtobufReader.check(wireType, is: .lengthDelimited, field: "metric")
                var nested = try reader.nested()
                metrics.append(try SparkplugMetric(&nested))
            case 3:
                try ProtobufReader.check(wireType, is: .varint, field: "payload seq")
                seq = try reader.varint()
            default:
                // uuid, body and extensions.
                try reader.skip(wireType)
            }
        }
    }

    public init(decoding bytes: [UInt8]) throws(PayloadError) {
        let decoded = bytes.withUnsafeBytes { raw in Result { () throws(PayloadError) in try SparkplugPayload(decoding: raw) } }
        self = try decoded.get()
    }

    public func encoded() -> [UInt8] {
        var writer = ProtobufWriter()
        if let timestamp { writer.varint(1, timestamp) }
        for metric in metrics {
            var nested = ProtobufWriter()
            metric.write(to: &nested)
            writer.bytes(2, nested.bytes)
        }
        if let seq { writer.varint(3, seq) }
        return writer.bytes
    }

    /// The metric naming the edge node's birth-death sequence (`bdSeq`), if there is one.
    public var bdSeq: UInt64? {
        for metric in metrics where metric.name == "bdSeq" {
            switch metric.value {
            case .long(let value): return value
            case .int(let value): return UInt64(value)
            default: return nil
            }
        }
        return nil
    }

    /// The rebirth request a host application sends an edge node (on NCMD).
    public static func rebirthRequest(timestamp: UInt64) -> SparkplugPayload {
        SparkplugPayload(timestamp: timestamp, metrics: [
            SparkplugMetric(name: rebirthMetric, timestamp: timestamp, dataType: .boolean, value: .boolean(true)),
        ])
    }

    /// The NCMD metric that asks an edge node for its births again.
    public static let rebirthMetric = "Node Control/Rebirth"
}
