import VigilCore

/// The hand-off from libmosquitto's network thread to one consumer thread, in batches.
///
/// The network thread appends (a copy of topic and payload); the consumer takes everything
/// pending at once. When the inbox is full the network thread waits, so the broker stops
/// sending (TCP back-pressure) instead of memory growing: since libmosquitto acknowledges a
/// QoS 1 message before handing it over, the inbox's capacity is part of what a crash can lose.
public final class MessageInbox: @unchecked Sendable {
    /// Largest number of messages held.
    public let capacity: Int
    /// Largest number of bytes held (topics and payloads).
    public let capacityBytes: Int
    /// Payloads longer than this are kept only as a prefix, flagged by `payloadSize`.
    public let maxPayloadBytes: Int
    /// How much of an oversized payload is kept, for the dead-letter record.
    public static let oversizedPrefix = 256

    private let lock = ConditionLock()
    private var pending = MessageBatch()
    private var closed = false

    public init(capacity: Int = 20_000, capacityBytes: Int = 8 << 20, maxPayloadBytes: Int = 256 << 10) {
        self.capacity = capacity
        self.capacityBytes = capacityBytes
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Adds a message, waiting while the inbox is full. Called on the network thread.
    public func append(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: Int32, retained: Bool) {
        let keep = payload.count > maxPayloadBytes ? Self.oversizedPrefix : payload.count
        let receivedAt = WallClock.now()
        lock.withLock {
            while !closed && (pending.count >= capacity || pending.byteCount + keep + topic.count > capacityBytes) && !pending.isEmpty {
                lock.wait()
            }
            guard !closed else { return }
            let wasEmpty = pending.isEmpty
            pending.append(topic: topic, payload: payload, keep: keep, qos: qos, retained: retained, receivedAt: receivedAt)
            if wasEmpty { lock.broadcast() }
        }
    }

    /// Moves every pending message into `batch` (which is emptied first), waiting until there is
    /// one or `deadline` (monotonic seconds) passes. Returns false once closed and drained.
    public func take(into batch: inout MessageBatch, until deadline: Double?) -> Bool {
        batch.removeAll()
        return lock.withLock {
            while pending.isEmpty && !closed {
                if !lock.wait(until: deadline), let deadline, MonotonicClock.now() >= deadline { break }
            }
            if pending.isEmpty { return !closed }
            swap(&batch, &pending)
            lock.broadcast()
            return true
        }
    }

    /// Messages waiting to be taken.
    public var count: Int { lock.withLock { pending.count } }

    /// Stops accepting messages and wakes every waiter; pending messages can still be taken.
    public func close() {
        lock.withLock {
            closed = true
            lock.broadcast()
        }
    }
}
