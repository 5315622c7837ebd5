import VigilCore

/// Reads the protocol-buffers wire format (varints, fixed 32- and 64-bit words, length-delimited
/// fields) from a byte buffer, refusing anything that runs past its end: a payload from the
/// network is never trusted to be well formed.
struct ProtobufReader {
    enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    private let buffer: UnsafeRawBufferPointer
    private(set) var position: Int
    private let end: Int

    /// Reads `range` of `bytes` (all of them by default).
    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        buffer = bytes
        position = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    var atEnd: Bool { position >= end }

    /// The next field's number and wire type.
    mutating func field() throws(PayloadError) -> (number: UInt64, wireType: WireType) {
        let key = try varint()
        guard let wireType = WireType(rawValue: key & 7) else {
            throw PayloadError(.invalidProtobuf, "unknown wire type \(key & 7) at byte \(position)")
        }
        guard key >> 3 > 0 else { throw PayloadError(.invalidProtobuf, "field number 0 at byte \(position)") }
        return (key >> 3, wireType)
    }

    mutating func varint() throws(PayloadError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw PayloadError(.invalidProtobuf, "a varint runs past the end") }
            let byte = buffer[position]
            position += 1
            guard shift < 64, shift < 63 || byte <= 1 else { throw PayloadError(.invalidProtobuf, "a varint longer than 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    mutating func fixed32() throws(PayloadError) -> UInt32 {
        guard end - position >= 4 else { throw PayloadError(.invalidProtobuf, "a 32-bit field runs past the end") }
        defer { position += 4 }
        return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func fixed64() throws(PayloadError) -> UInt64 {
        guard end - position >= 8 else { throw PayloadError(.invalidProtobuf, "a 64-bit field runs past the end") }
        defer { position += 8 }
        return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// The byte range of a length-delimited field (a string, bytes or a nested message).
    mutating func lengthDelimited() throws(PayloadError) -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - position) else {
            throw PayloadError(.invalidProtobuf, "a field of \(length) bytes runs past the end")
        }
        defer { position += Int(length) }
        return position..<(position + Int(length))
    }

    /// A reader over a nested message.
    mutating func nested() throws(PayloadError) -> ProtobufReader {
        ProtobufReader(buffer, range: try lengthDelimited())
    }

    mutating func string(field: String) throws(PayloadError) -> String {
        let range = try lengthDelimited()
        guard let text = String(validating: UnsafeRawBufferPointer(rebasing: buffer[range]), as: UTF8.self) else {
            throw PayloadError(.invalidProtobuf, "\(field) is not UTF-8")
        }
        return text
    }

    mutating func bytes() throws(PayloadError) -> [UInt8] {
        let range = try lengthDelimited()
        return Array(buffer[range])
    }

    /// Skips a field of `wireType` this reader has no use for.
    mutating func skip(_ wireType: WireType) throws(PayloadError) {
        switch wireType {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup, .endGroup: throw PayloadError(.invalidProtobuf, "groups are not used by Sparkplug B")
        }
    }

    /// Throws unless the field has `expected` wire type: a field of ours with another type is malformed.
    static func check(_ wireType: WireType, is expected: WireType, field: String) throws(PayloadError) {
        guard wireType == expected else {
            throw PayloadError(.invalidProtobuf, "\(field) has wire type \(wireType.rawValue), expected \(expected.rawValue)")
        }
    }
}
