import Logging
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilObservability
import VigilStore

/// The agent's half of upstream sync, on the writer thread: forms numbered batches from the
/// outbox, sends them on the upstream connection, and deletes outbox rows only when the
/// trainer's ack covers them.
///
/// A batch is recorded (`upstream_batches`: its sequence and outbox ids) in a transaction before
/// it is first sent, so a timeout, a reconnect or a restart resends the same sequence with the
/// same rows and the trainer stores it once. Sequences count within this database's epoch, a
/// random identity drawn when upload first runs, so a new database under the same agent id
/// starts a sequence of its own. At most `max_in_flight` batches wait for an ack;
/// the backlog drains oldest first, between the writer's passes over live messages.
final class Uploader {
    private struct Pending {
        let seq: Int64
        let first: Int64
        let last: Int64
        let rows: Int64
        /// When it was last sent (monotonic seconds); nil: to be sent.
        var sentAt: Double?
        /// Times this process sent it.
        var sends = 0
        /// False while the transaction that records it is open: it is sent after the commit.
        var committed = true
    }

    private let transaction: WriterTransaction
    private var database: Database { transaction.store.database }
    private let client: MQTTClient
    private let agent: String
    private let topics: FleetTopics
    private let settings: AgentConfiguration.Upstream
    private let metrics: AgentMetrics
    private let logger: Logger
    /// Resends and refusals by the trainer are logged at most once a minute each.
    private var resendLimit = LogRateLimit()
    private var refusalLimit = LogRateLimit()
    private var pending: [Pending] = []
    private var epoch = ""
    private var nextSeq: Int64 = 0
    /// The highest outbox id in a formed batch.
    private var lastBatched: Int64 = 0
    private var acked: Int64 = -1
    /// The client's connection count when batches were last sent: a reconnect resends them.
    private var connection = -1
    private var connected = false

    init(transaction: WriterTransaction, client: MQTTClient, agent: String, settings: AgentConfiguration.Upstream,
         metrics: AgentMetrics, logger: Logger) throws(SQLiteError) {
        self.transaction = transaction
        self.client = client
        self.agent = agent
        self.settings = settings
        topics = settings.topics
        self.metrics = metrics
        self.logger = logger
        try load()
        transaction.onRollback { [unowned self] in
            do {
                try load()
            } catch {
                logger.error("cannot reload the upload state after a rollback", metadata: ["reason": "\(error)"])
            }
        }
    }

    /// Reads what is committed: the epoch (drawn on first use), the ack watermark and the
    /// batches formed and not acknowledged.
    private func load() throws(SQLiteError) {
        if let saved = try database.scalar("SELECT value FROM upstream WHERE name = 'epoch'")?.string {
            epoch = saved
        } else {
            var random = SystemRandomNumberGenerator()
            epoch = ModelBundle.hex(withUnsafeBytes(of: random.next() as UInt64, Array.init))
            try database.prepare("INSERT INTO upstream(name, value) VALUES ('epoch', ?)").run([.text(epoch)])
        }
        acked = try database.scalar("SELECT value FROM upstream WHERE name = 'acked_seq'")?.double.map { Int64($0) } ?? -1
        pending = try database.rows("SELECT seq, first_outbox_id, last_outbox_id, rows FROM upstream_batches ORDER BY seq").map {
            Pending(seq: $0[0].int64 ?? 0, first: $0[1].int64 ?? 0, last: $0[2].int64 ?? 0, rows: $0[3].int64 ?? 0, sentAt: nil)
        }
        nextSeq = (pending.last?.seq ?? acked) + 1
        lastBatched = pending.last?.last ?? 0
    }

    /// When the writer should call `pump` again at the latest.
    var nextDue: Double { MonotonicClock.now() + 0.05 }

    /// Notes the connection state, resends batches whose ack is overdue (or all after a
    /// reconnect), and forms new batches up to the in-flight bound. Returns whether it formed
    /// any: they go out when the transaction that records them commits, so commit soon.
    @discardableResult
    func pump() throws(SQLiteError) -> Bool {
        let now = MonotonicClock.now()
        let isConnected = client.isConnected
        if isConnected != connected {
            connected = isConnected
            metrics.uplinkConnected.set(isConnected ? 1 : 0)
            try save("connected", isConnected ? 1 : 0)
        }
        guard isConnected else { return false }
        let current = client.connectionCount
        if current != connection {
            connection = current
            for index in pending.indices where pending[index].sentAt != nil { pending[index].sentAt = nil }
        }
        for index in pending.indices where pending[index].committed {
            if let sentAt = pending[index].sentAt {
                guard now - sentAt >= settings.ackTimeout else { continue }
                logger.log(.warning, "batch not acknowledged in time; sending it again", limit: &resendLimit,
                           metadata: ["seq": "\(pending[index].seq)", "ack_timeout": "\(settings.ackTimeout)"])
            }
            send(at: index, now: now)
        }
        var formed = false
        while pending.count < settings.maxInFlight, try formBatch() { formed = true }
        return formed
    }

    /// Records that the uplink is down because the agent stops, so its status says so.
    func stopping() throws(SQLiteError) {
        connected = false
        try save("connected", 0)
    }

    /// Raw sample bytes a batch carries at most, well under the trainer's default batch limit
    /// (16 MiB): blocks of samples are large, and `batch_rows` of them would not pass.
    static let maxSampleBytes = 8 << 20

    /// Records the next batch: up to `batch_rows` outbox rows after the last batched, fewer if
    /// their blocks of samples would make it too large.
    private func formBatch() throws(SQLiteError) -> Bool {
        let candidates = try database.rows("""
            SELECT o.id, coalesce(length(r.samples), 0) FROM outbox o
            LEFT JOIN readings r ON o.kind = \(OutboxKind.reading.rawValue) AND r.id = o.row
            WHERE o.id > ? ORDER BY o.id LIMIT ?
            """, [.integer(lastBatched), .integer(Int64(settings.batchRows))])
        var ids: [Int64] = []
        var sampleBytes: Int64 = 0
        for row in candidates {
            sampleBytes += row[1].int64 ?? 0
            if sampleBytes > Self.maxSampleBytes && !ids.isEmpty { break }
            ids.append(row[0].int64 ?? 0)
        }
        guard let first = ids.first, let last = ids.last else { return false }
        try transaction.begin()
        let seq = nextSeq
        try database.prepare("INSERT INTO upstream_batches(seq, first_outbox_id, last_outbox_id, rows) VALUES (?, ?, ?, ?)")
            .run([.integer(seq), .integer(first), .integer(last), .integer(Int64(ids.count))])
        pending.append(Pending(seq: seq, first: first, last: last, rows: Int64(ids.count), sentAt: nil, committed: false))
        nextSeq += 1
        lastBatched = last
        transaction.afterCommit { [unowned self] in
            guard let index = pending.firstIndex(where: { $0.seq == seq }) else { return }
            pending[index].committed = true
            if client.isConnected { send(at: index, now: MonotonicClock.now()) }
        }
        return true
    }

    private func send(at index: Int, now: Double) {
        let batch = pending[index]
        do {
            let bytes = try self.batch(batch).encoded()
            try client.publish(topic: topics.batch(agent: agent), payload: bytes, qos: 1)
            pending[index].sentAt = now
            (batch.sends == 0 ? metrics.uploadBatchesSent : metrics.uploadBatchesResent).increment()
            pending[index].sends += 1
        } catch {
            logger.error("cannot send a batch", metadata: ["seq": "\(batch.seq)", "reason": "\(error)"])
        }
    }

    /// The batch's rows, read back from the outbox.
    private func batch(_ pending: Pending) throws -> UpstreamBatch {
        let range: [SQLValue] = [.integer(pending.first), .integer(pending.last)]
        var features: [UpstreamBatch.Feature] = []
        var setIDs = Set<Int64>()
        for row in try database.rows("""
            SELECT s.device, f.feature_set, f.window_start, f.window_end, f.sample_count, f.vector
            FROM outbox o JOIN features f ON f.id = o.row JOIN series s ON s.id = f.series
            WHERE o.kind = \(OutboxKind.feature.rawValue) AND o.id BETWEEN ? AND ? ORDER BY o.id
            """, range) {
            guard case .blob(let vector) = row[5] else { continue }
            let set = row[1].int64 ?? 0
            setIDs.insert(set)
            features.append(.init(device: row[0].string ?? "", set: set, start: row[2].double ?? 0, end: row[3].double ?? 0,
                                  count: Int(row[4].int64 ?? 0), values: FleetTables.vector(vector)))
        }
        var sets: [UpstreamBatch.FeatureSet] = []
        for id in setIDs.sorted() {
            guard let row = try database.rows("SELECT device_type, sensor, window, names FROM feature_sets WHERE id = ?", [.integer(id)]).first,
                  let window = FeatureWindowSpec.Window(canonical: row[2].string ?? "") else { continue }
            let names = FleetTables.names(row[3].string ?? "")
            sets.append(.init(id: id, identity: FeatureSetIdentity(deviceType: row[0].string ?? "", sensor: row[1].string ?? "",
                                                                   window: window, names: names)))
        }
        var events: [MaintenanceEvent] = []
        for row in try database.rows("""
            SELECT m.device, m.kind, m.fault_mode, m.ts, m.source, m.note
            FROM outbox o JOIN maintenance_events m ON m.id = o.row
            WHERE o.kind = \(OutboxKind.event.rawValue) AND o.id BETWEEN ? AND ? ORDER BY o.id
            """, range) {
            guard let kind = MaintenanceEvent.Kind(rawValue: row[1].string ?? "") else { continue }
            events.append(MaintenanceEvent(device: row[0].string ?? "", kind: kind, timestamp: row[3].double ?? 0,
                                           mode: row[2].string, source: row[4].string, note: row[5].string))
        }
        let predictions = try database.rows("""
            SELECT p.device, p.model, p.version, p.window_end, p.predicted, p.probabilities
            FROM outbox o JOIN predictions p ON p.id = o.row
            WHERE o.kind = \(OutboxKind.prediction.rawValue) AND o.id BETWEEN ? AND ? ORDER BY o.id
            """, range).map { row in
            UpstreamBatch.Prediction(device: row[0].string ?? "", model: row[1].string ?? "", version: row[2].string ?? "",
                                     windowEnd: row[3].double ?? 0, predicted: row[4].string ?? "",
                                     probabilities: FleetTables.numbers(row[5].string ?? ""))
        }
        let readings = try database.rows("""
            SELECT s.device, s.sensor, s.device_type, r.seq, r.ts, r.value, r.rate_hz, r.samples
            FROM outbox o JOIN readings r ON r.id = o.row JOIN series s ON s.id = r.series
            WHERE o.kind = \(OutboxKind.reading.rawValue) AND o.id BETWEEN ? AND ? ORDER BY o.id
            """, range).map { row in
            var reading = UpstreamBatch.Reading(device: row[0].string ?? "", sensor: row[1].string ?? "", deviceType: row[2].string ?? "",
                                                seq: row[3].int64 ?? 0, timestamp: row[4].double ?? 0, value: row[5].double,
                                                rateHz: row[6].double)
            if case .blob(let bytes) = row[7] { reading.samples = FleetTables.samples(bytes) }
            return reading
        }
        return UpstreamBatch(agent: agent, epoch: epoch, sequence: pending.seq, featureSets: sets, features: features, events: events,
                             predictions: predictions, readings: readings)
    }

    /// Takes the trainer's ack: deletes the outbox rows it covers, in the writer's transaction.
    func handleAck(_ payload: [UInt8]) throws(SQLiteError) {
        let ack: UpstreamAck
        do {
            ack = try UpstreamAck(bytes: payload)
        } catch {
            logger.log(.warning, "upstream ack refused", limit: &refusalLimit, metadata: ["reason": "\(error)"])
            return
        }
        guard ack.agent == agent else { return }
        if let refused = ack.refused {
            logger.log(.error, "the trainer refused a batch", limit: &refusalLimit,
                       metadata: ["seq": "\(refused.sequence)", "reason": "\(refused.reason)", "trainer_reads_formats": "\(ack.formats)"])
        }
        guard ack.epoch == epoch, ack.acked > acked, ack.acked < nextSeq else { return }
        try transaction.begin()
        if let last = pending.last(where: { $0.seq <= ack.acked })?.last {
            try database.execute("DELETE FROM outbox WHERE id <= \(last)")
        }
        try database.execute("DELETE FROM upstream_batches WHERE seq <= \(ack.acked)")
        let rows = pending.filter { $0.seq <= ack.acked }.reduce(0) { $0 + $1.rows }
        transaction.afterCommit { [metrics] in metrics.uploadRowsAcknowledged.increment(by: rows) }
        pending.removeAll { $0.seq <= ack.acked }
        acked = ack.acked
        try save("acked_seq", Double(ack.acked))
        try save("last_ack_at", WallClock.now())
    }

    private func save(_ name: String, _ value: Double) throws(SQLiteError) {
        try transaction.begin()
        try database.prepare("INSERT INTO upstream(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value")
            .run([.text(name), .real(value)])
    }
}
