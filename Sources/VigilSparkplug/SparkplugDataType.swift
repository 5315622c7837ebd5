/// A Sparkplug B metric's data type (`DataType` in Eclipse Tahu's `sparkplug_b.proto`), and how
/// a number or an array of them is read from a metric's value.
public enum SparkplugDataType: UInt32, Sendable, CaseIterable {
    case unknown = 0
    case int8, int16, int32, int64, uint8, uint16, uint32, uint64, float, double, boolean, string, dateTime, text
    case uuid, dataSet, bytes, file, template, propertySet, propertySetList
    case int8Array, int16Array, int32Array, int64Array, uint8Array, uint16Array, uint32Array, uint64Array
    case floatArray, doubleArray, booleanArray, stringArray, dateTimeArray

    /// Whether a value of this type is one number (booleans count as 0 or 1).
    public var isNumber: Bool { (1...11).contains(rawValue) }

    /// Bytes per element of a numeric array type; nil for every other type.
    public var arrayElementSize: Int? {
        switch self {
        case .int8Array, .uint8Array: 1
        case .int16Array, .uint16Array: 2
        case .int32Array, .uint32Array, .floatArray: 4
        case .int64Array, .uint64Array, .doubleArray: 8
        default: nil
        }
    }

    /// The number `value` holds as this type, or nil when it holds none (a string, say).
    public func number(_ value: SparkplugMetric.Value) -> Double? {
        switch (self, value) {
        case (.int8, .int(let raw)): Double(Int8(truncatingIfNeeded: raw))
        case (.int16, .int(let raw)): Double(Int16(truncatingIfNeeded: raw))
        case (.int32, .int(let raw)): Double(Int32(bitPattern: raw))
        case (.uint8, .int(let raw)), (.uint16, .int(let raw)), (.uint32, .int(let raw)): Double(raw)
        case (.int64, .long(let raw)): Double(Int64(bitPattern: raw))
        case (.uint64, .long(let raw)): Double(raw)
        // Encoders differ on which field a 32-bit or 64-bit integer takes; either is read.
        case (.int8, .long(let raw)): Double(Int8(truncatingIfNeeded: raw))
        case (.int16, .long(let raw)): Double(Int16(truncatingIfNeeded: raw))
        case (.int32, .long(let raw)): Double(Int32(truncatingIfNeeded: raw))
        case (.uint8, .long(let raw)), (.uint16, .long(let raw)), (.uint32, .long(let raw)): Double(raw)
        case (.int64, .int(let raw)), (.uint64, .int(let raw)): Double(raw)
        case (.float, .float(let raw)): Double(raw)
        case (.double, .double(let raw)): raw
        case (.float, .double(let raw)): raw
        case (.double, .float(let raw)): Double(raw)
        case (.boolean, .boolean(let raw)): raw ? 1 : 0
        default: nil
        }
    }

    /// Appends the numbers of a numeric array's little-endian bytes to `samples`; false when this
    /// is no numeric array type or the byte count is not a whole number of elements.
    public func samples(_ bytes: [UInt8], into samples: inout [Double]) -> Bool {
        guard let size = arrayElementSize, bytes.count % size == 0 else { return false }
        let count = bytes.count / size
        samples.reserveCapacity(samples.count + count)
        bytes.withUnsafeBytes { raw in
            for index in 0..<count {
                let offset = index * size
                let value: Double = switch self {
                case .int8Array: Double(Int8(bitPattern: raw[offset]))
                case .uint8Array: Double(raw[offset])
                case .int16Array: Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
                case .uint16Array: Double(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                case .int32Array: Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                case .uint32Array: Double(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                case .int64Array: Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
                case .uint64Array: Double(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                case .floatArray:
                    Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
                default: Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                }
                samples.append(value)
            }
        }
        return true
    }
}
