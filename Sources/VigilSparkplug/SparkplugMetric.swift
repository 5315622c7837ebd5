import VigilCore

/// One metric of a Sparkplug B payload (`Payload.Metric`): named in a birth, then usually known by
/// its alias alone; a value, or an explicit null.
public struct SparkplugMetric: Sendable, Equatable {
    /// A metric's value as it travels: the `oneof value` field that was set. Data sets, templates
    /// and extensions are kept as `other`, their field number and encoded message (Vigil reads
    /// no sensor from them).
    public enum Value: Sendable, Equatable {
        case int(UInt32)
        case long(UInt64)
        case float(Float)
        case double(Double)
        case boolean(Bool)
        case string(String)
        case bytes([UInt8])
        case other(field: UInt64, message: [UInt8])

        /// A `FloatArray`'s value: the samples as little-endian float32 (`SparkplugDataType.samples` reads it back).
        public static func floatArray(_ samples: [Double]) -> Value {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(samples.count * 4)
            for sample in samples { withUnsafeBytes(of: Float(sample).bitPattern.littleEndian) { bytes += $0 } }
            return .bytes(bytes)
        }
    }

    public var name: String?
    public var alias: UInt64?
    /// Milliseconds since 1970 at which the value was acquired.
    public var timestamp: UInt64?
    /// The raw data type code: a type this version does not know is kept, not refused.
    public var dataTypeCode: UInt32?
    public var isNull = false
    public var value: Value?

    public init(name: String? = nil, alias: UInt64? = nil, timestamp: UInt64? = nil, dataType: SparkplugDataType? = nil,
                isNull: Bool = false, value: Value? = nil) {
        self.name = name
        self.alias = alias
        self.timestamp = timestamp
        dataTypeCode = dataType?.rawValue
        self.isNull = isNull
        self.value = value
    }

    public var dataType: SparkplugDataType? { dataTypeCode.flatMap(SparkplugDataType.init(rawValue:)) }

    init(_ reader: inout ProtobufReader) throws(PayloadError) {
        while !reader.atEnd {
            let (field, wireType) = try reader.field()
            switch field {
            case 1:
                try ProtobufReader.check(wireType, is: .lengthDelimited, field: "metric name")
                name = try reader.string(field: "a metric name")
            case 2:
                try ProtobufReader.check(wireType, is: .varint, field: "metric alias")
                alias = try reader.varint()
            case 3:
                try ProtobufReader.check(wireType, is: .varint, field: "metric timestamp")
                timestamp = try reader.varint()
            case 4:
                try ProtobufReader.check(wireType, is: .varint, field: "metric datatype")
                dataTypeCode = UInt32(truncatingIfNeeded: try reader.varint())
            case 7:
                try ProtobufReader.check(wireType, is: .varint, field: "metric is_null")
                isNull = try reader.varint() != 0
            case 10:
                try ProtobufReader.check(wireType, is: .varint, field: "metric int_value")
                value = .int(UInt32(truncatingIfNeeded: try reader.varint()))
            case 11:
                try ProtobufReader.check(wireType, is: .varint, field: "metric long_value")
                value = .long(try reader.varint())
            case 12:
                try ProtobufReader.check(wireType, is: .fixed32, field: "metric float_value")
                value = .float(Float(bitPattern: try reader.fixed32()))
            case 13:
                try ProtobufReader.check(wireType, is: .fixed64, field: "metric double_value")
                value = .double(Double(bitPattern: try reader.fixed64()))
            case 14:
                try ProtobufReader.check(wireType, is: .varint, field: "metric boolean_value")
                value = .boolean(try reader.varint() != 0)
            case 15:
                try ProtobufReader.check(wireType, is: .lengthDelimited, field: "metric string_value")
                value = .string(try reader.string(field: "a metric's string_value"))
            case 16:
                try ProtobufReader.check(wireType, is: .lengthDelimited, field: "metric bytes_value")
                value = .bytes(try reader.bytes())
            case 17, 18, 19:
                try ProtobufReader.check(wireType, is: .lengthDelimited, field: "metric value field \(field)")
                value = .other(field: field, message: try reader.bytes())
            default:
                // is_historical, is_transient, metadata, properties and extensions: not needed here.
                try reader.skip(wireType)
            }
        }
    }

    func write(to writer: inout ProtobufWriter) {
        if let name { writer.string(1, name) }
        if let alias { writer.varint(2, alias) }
        if let timestamp { writer.varint(3, timestamp) }
        if let dataTypeCode { writer.varint(4, UInt64(dataTypeCode)) }
        if isNull { writer.varint(7, 1) }
        switch value {
        case .int(let raw): writer.varint(10, UInt64(raw))
        case .long(let raw): writer.varint(11, raw)
        case .float(let raw): writer.fixed32(12, raw.bitPattern)
        case .double(let raw): writer.fixed64(13, raw.bitPattern)
        case .boolean(let raw): writer.varint(14, raw ? 1 : 0)
        case .string(let raw): writer.string(15, raw)
        case .bytes(let raw): writer.bytes(16, raw)
        case .other(let field, let message): writer.bytes(field, message)
        case nil: break
        }
    }
}
