import VigilCore
import VigilMQTT

/// The trainer's upstream ingest: subscribes to every agent's batch topic on the central broker,
/// stores each batch once, and acknowledges the highest sequence held without a gap. A
/// malformed, oversized or misaddressed batch is refused, logged with its agent and counted; it
/// never blocks the batches behind it.
public final class UpstreamIngest: @unchecked Sendable {
    /// What the ingest did so far.
    public struct Counts: Sendable, Equatable {
        public var stored = 0
        public var duplicates = 0
        public var refused = 0
        public var rows = 0

        public init(stored: Int = 0, duplicates: Int = 0, refused: Int = 0, rows: Int = 0) {
            self.stored = stored
            self.duplicates = duplicates
            self.refused = refused
            self.rows = rows
        }
    }

    public static let batchFilter = "vigil/upstream/+/batch"

    private let store: UpstreamStore
    private let inbox: MessageInbox
    private let client: MQTTClient
    private let log: @Sendable (String) -> Void
    private let lock = ConditionLock()
    private var counts = Counts()
    private var worker: NativeThread?

    public init(broker: BrokerURL, clientID: String = "vigil-trainer", store: UpstreamStore, maxBatchBytes: Int = 16 << 20,
                log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        self.store = store
        self.log = log
        inbox = MessageInbox(capacity: 1_000, capacityBytes: 64 << 20, maxPayloadBytes: maxBatchBytes)
        client = try MQTTClient(configuration: MQTTConfiguration(
            url: broker, clientID: clientID, cleanSession: false,
            subscriptions: [.init(Self.batchFilter, qos: 1)]), inbox: inbox, log: log)
    }

    public func start() {
        worker = NativeThread(name: "vigil-ingest") { [self] in run() }
        client.start()
    }

    @discardableResult
    public func waitUntilReady(timeout: Double) -> Bool { client.waitUntilReady(timeout: timeout) }

    public func stop() {
        client.stop()
        inbox.close()
        worker?.join()
        worker = nil
    }

    public var snapshot: Counts { lock.withLock { counts } }

    private func run() {
        var batch = MessageBatch()
        while inbox.take(into: &batch, until: nil) {
            for index in 0..<batch.count {
                batch.withMessage(at: index) { topic, payload, entry in
                    handle(topic: String(decoding: topic, as: UTF8.self), payload: Array(payload), size: entry.payloadSize)
                }
            }
        }
    }

    private func handle(topic: String, payload: [UInt8], size: Int) {
        let parts = topic.split(separator: "/")
        let agent = parts.count == 4 ? String(parts[2]) : "?"
        guard size == payload.count else { return refuse(agent, "batch of \(size) bytes exceeds the limit") }
        do {
            let batch = try UpstreamBatch(bytes: payload)
            guard batch.agent == agent else { return refuse(agent, "batch says it is from \(batch.agent)") }
            let (stored, acknowledged) = try store.store(batch)
            lock.withLock {
                if stored {
                    counts.stored += 1
                    counts.rows += batch.rowCount
                } else {
                    counts.duplicates += 1
                }
            }
            let ack: JSONValue = ["agent": .string(agent), "acked": .number(Double(acknowledged))]
            try client.publish(topic: "vigil/upstream/\(agent)/ack", text: ack.serialized(indent: 0), qos: 1)
        } catch {
            refuse(agent, "\(error)")
        }
    }

    private func refuse(_ agent: String, _ reason: String) {
        lock.withLock { counts.refused += 1 }
        log("batch from agent \(agent) refused: \(reason)")
    }
}
