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
    /// Topics starting with one of these prefixes have their own payload limit instead (a
    /// model bundle may be megabytes while sensor payloads stay small).
    public let limits: [(topicPrefix: [UInt8], maxPayloadBytes: Int)]
    /// How much of an oversized payload is kept, for the dead-letter record.
    public static let oversizedPrefix = 256

    /// Below this many pending messages, a consumer waits up to `fillDelay` for more, so that a
    /// busy stream wakes it once per batch rather than once per message.
    public static let batchTarget = 256
    /// The messages a batch fills to before a consumer wakes: `batchTarget`, or the whole inbox
    /// when it is smaller. A batch taken with fewer means the stream is slower than its consumer.
    public var fillTarget: Int { min(Self.batchTarget, capacity) }
    /// The longest a consumer waits for a batch to fill: far below any commit interval.
    public static let fillDelay = 0.002

    private let lock = ConditionLock()
    private var pending = MessageBatch()
    private var closed = false
    /// What the consumer waits for, so the producer wakes it only when that is reached.
    private var consumerWaitsFor = 0

    public init(capacity: Int = 10_000, capacityBytes: Int = 1 << 20, maxPayloadBytes: Int = 256 << 10,
                limits: [(topicPrefix: String, maxPayloadBytes: Int)] = []) {
        self.capacity = capacity
        self.capacityBytes = capacityBytes
        self.maxPayloadBytes = maxPayloadBytes
        self.limits = limits.map { (Array($0.topicPrefix.utf8), $0.maxPayloadBytes) }
    }

    /// The payload limit for messages on `topic`.
    public func maxPayloadBytes(topic: UnsafeRawBufferPointer) -> Int {
        for limit in limits where topic.starts(with: limit.topicPrefix) { return limit.maxPayloadBytes }
        return maxPayloadBytes
    }

    /// Adds a message, waiting while the inbox is full (unless it is empty: one message larger
    /// than `capacityBytes` still gets through). Called on the network thread.
    public func append(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: Int32, retained: Bool) {
        let keep = payload.count > maxPayloadBytes(topic: topic) ? Self.oversizedPrefix : payload.count
        lock.withLock {
            while !closed && (pending.count >= capacity || pending.byteCount + keep + topic.count > capacityBytes) && !pending.isEmpty {
                lock.wait()
            }
            guard !closed else { return }
            pending.append(topic: topic, payload: payload, keep: keep, qos: qos, retained: retained)
            if pending.count == consumerWaitsFor { lock.broadcast() }
        }
    }

    /// Moves every pending message into `batch` (which is emptied first), waiting until there is
    /// one or `deadline` (monotonic seconds) passes; with fewer than `batchTarget` pending, it
    /// waits up to `fillDelay` more for the batch to fill. Stamps the batch with the time it was
    /// taken. Returns false once closed and drained.
    public func take(into batch: inout MessageBatch, until deadline: Double?) -> Bool {
        batch.removeAll()
        return lock.withLock {
            consumerWaitsFor = 1
            while pending.isEmpty && !closed {
                if !lock.wait(until: deadline), let deadline, MonotonicClock.now() >= deadline { break }
            }
            if pending.isEmpty {
                consumerWaitsFor = 0
                return !closed
            }
            let target = fillTarget
            if pending.count < target && !closed {
                consumerWaitsFor = target
                let filled = min(MonotonicClock.now() + Self.fillDelay, deadline ?? .infinity)
                while pending.count < target && !closed && lock.wait(until: filled) {}
            }
            consumerWaitsFor = 0
            swap(&batch, &pending)
            batch.receivedAt = WallClock.now()
            lock.broadcast()
            return true
        }
    }

    /// Stops accepting messages and wakes every waiter; pending messages can still be taken.
    public func close() {
        lock.withLock {
            closed = true
            lock.broadcast()
        }
    }
}
