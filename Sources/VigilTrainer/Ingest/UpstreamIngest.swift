import Logging
import VigilCore
import VigilFleet
import VigilMQTT
import VigilObservability

/// The trainer's upstream ingest: subscribes to every agent's batch topic on the central broker,
/// stores each batch once, and acknowledges the highest sequence held without a gap. A
/// malformed, oversized or misaddressed batch is refused, logged with its agent and counted, and
/// the agent is told why in its ack (with the batch formats this trainer reads); it never blocks
/// the batches behind it.
public final class UpstreamIngest: @unchecked Sendable {
    /// What the ingest did so far.
    public struct Counts: Sendable, Equatable {
        public var stored = 0
        public var duplicates = 0
        /// Batches and drift reports refused.
        public var refused = 0
        public var rows = 0

        public init(stored: Int = 0, duplicates: Int = 0, refused: Int = 0, rows: Int = 0) {
            self.stored = stored
            self.duplicates = duplicates
            self.refused = refused
            self.rows = rows
        }
    }

    private let topics: FleetTopics
    private let store: UpstreamStore
    /// Where agents' drift reports go, when the caller wants them.
    private let drift: DriftBoard?
    private let inbox: MessageInbox
    private let client: MQTTClient
    private let metrics: TrainerMetrics
    private let logger: Logger
    private let lock = ConditionLock()
    private var counts = Counts()
    private var worker: NativeThread?
    /// Refusals, logged at most once a minute (worker thread only).
    private var refusalLimit = LogRateLimit()

    public init(central: CentralBroker, clientID: String = "vigil-trainer", store: UpstreamStore, drift: DriftBoard? = nil,
                maxBatchBytes: Int = 16 << 20, metrics: TrainerMetrics = TrainerMetrics(), logger: Logger = .silent) throws {
        topics = central.topics
        self.store = store
        self.drift = drift
        self.metrics = metrics
        self.logger = logger
        inbox = MessageInbox(capacity: 1_000, capacityBytes: 64 << 20, maxPayloadBytes: maxBatchBytes)
        client = try MQTTClient(configuration: central.configuration(clientID: clientID,
                                                                     subscriptions: [topics.batchFilter] + (drift == nil ? [] : [topics.driftFilter]),
                                                                     cleanSession: false), inbox: inbox,
                                                                     logger: logger.component("mqtt"))
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
        if let drift, let (agent, deviceType) = topics.drift(of: topic) {
            return record(drift: payload, agent: agent, deviceType: deviceType, on: drift)
        }
        guard let agent = topics.agent(ofBatchTopic: topic) else { return refuse(nil, nil, .topic, "not a batch topic: \(topic)") }
        guard size == payload.count else { return refuse(agent, nil, .oversized, "batch of \(size) bytes exceeds the limit") }
        let batch: UpstreamBatch
        do {
            batch = try UpstreamBatch(bytes: payload)
        } catch {
            return refuse(agent, nil, .malformed, "\(error)")
        }
        guard batch.agent == agent else { return refuse(agent, batch, .agentMismatch, "batch says it is from \(batch.agent)") }
        do {
            let (stored, acknowledged) = try store.store(batch)
            metrics.batch(stored: stored, rows: batch.rowCount)
            lock.withLock {
                if stored {
                    counts.stored += 1
                    counts.rows += batch.rowCount
                } else {
                    counts.duplicates += 1
                }
            }
            let ack = UpstreamAck(agent: agent, epoch: batch.epoch, acked: acknowledged)
            try client.publish(topic: topics.ack(agent: agent), payload: ack.encoded(), qos: 1)
        } catch {
            refuse(agent, batch, .store, "\(error)")
        }
    }

    /// Keeps an agent's drift report as its latest on `board`, or counts and logs its refusal.
    private func record(drift payload: [UInt8], agent: String, deviceType: String, on board: DriftBoard) {
        do {
            let report = try DriftReport(bytes: payload)
            guard report.agent == agent, report.deviceType == deviceType else {
                throw FleetError("agent_mismatch", "the report is \(report.agent)'s on \(report.deviceType)")
            }
            board.record(report)
        } catch {
            lock.withLock { counts.refused += 1 }
            logger.log(.warning, "drift report refused", limit: &refusalLimit,
                       metadata: ["agent": "\(agent)", "device_type": "\(deviceType)", "reason": "\(error)"])
        }
    }

    /// Counts and logs a refusal, and tells the agent which batch and why (with the epoch's
    /// acknowledgement when the batch could be read, -1 and no epoch when not).
    private func refuse(_ agent: String?, _ batch: UpstreamBatch?, _ kind: TrainerMetrics.Refusal, _ reason: String) {
        lock.withLock { counts.refused += 1 }
        metrics.refused(kind)
        logger.log(.warning, "batch refused", limit: &refusalLimit,
                   metadata: ["agent": "\(agent ?? "?")", "seq": "\(batch?.sequence ?? -1)", "kind": "\(kind.rawValue)", "reason": "\(reason)"])
        guard let agent else { return }
        let acknowledged = batch.flatMap { try? store.acknowledged(agent: agent, epoch: $0.epoch) } ?? -1
        let ack = UpstreamAck(agent: agent, epoch: batch?.epoch ?? "", acked: acknowledged, refused: (batch?.sequence ?? -1, reason))
        try? client.publish(topic: topics.ack(agent: agent), payload: ack.encoded(), qos: 1)
    }
}
