/// Messages handed from the network thread to a consumer in one go. Topics and payloads live
/// back to back in one byte buffer, so receiving a message costs a copy, not an allocation;
/// the consumer recycles the batch, keeping its capacity.
public struct MessageBatch: Sendable {
    /// One message's place in the buffer.
    public struct Entry: Sendable {
        let topic: Range<Int>
        let payload: Range<Int>
        /// The payload's size as received; larger than the stored bytes when it was cut.
        public let payloadSize: Int
        public let qos: Int32
        public let retained: Bool
    }

    private(set) var bytes: [UInt8] = []
    public private(set) var entries: [Entry] = []
    /// Wall-clock time the consumer took the batch, Unix seconds: within a few milliseconds of
    /// each message's receipt, without a clock read per message.
    public internal(set) var receivedAt: Double = 0

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    /// Bytes held for topics and payloads.
    public var byteCount: Int { bytes.count }

    mutating func append(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, keep: Int,
                         qos: Int32, retained: Bool) {
        let topicStart = bytes.count
        bytes.append(contentsOf: topic)
        let payloadStart = bytes.count
        let kept = min(keep, payload.count)
        if kept > 0 { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[0..<kept])) }
        entries.append(Entry(topic: topicStart..<payloadStart, payload: payloadStart..<bytes.count,
                             payloadSize: payload.count, qos: qos, retained: retained))
    }

    /// Empties the batch, keeping its capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    /// Calls `body` with the topic and payload bytes of message `index`; they are valid only
    /// inside the call.
    @inline(__always)
    public func withMessage<R>(at index: Int,
                               _ body: (_ topic: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer, _ entry: Entry) throws -> R) rethrows -> R {
        let entry = entries[index]
        return try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[entry.topic]),
                     UnsafeRawBufferPointer(rebasing: all[entry.payload]), entry)
        }
    }
}
