#if canImport(Glibc)
import Glibc
#endif
import VigilCore
import VigilFeatures
import VigilFleet
import VigilMQTT
import VigilStore

/// The agent's SQLite database: readings, devices, dead letters and counters, written through
/// statements prepared once. Owned by the writer thread; `AgentStatus` reads it separately.
///
/// `max_database_size` is the disk the user gives: the file and its WAL together. The WAL gets
/// an eighth (at least 256 KiB), checkpointed often and truncated back after a commit that
/// left it larger, and as much again as headroom for the transaction in flight; the file gets
/// the rest.
final class AgentStore {
    let database: Database
    let path: String
    /// What the WAL may take, and the main file.
    let walLimit: Int64
    let mainLimit: Int64
    private let insertReading: Statement
    private let insertBlock: Statement
    private let insertDeadLetter: Statement
    private let insertSeries: Statement
    private let insertEvent: Statement
    private let insertFeatureSet: Statement
    private let insertFeature: Statement
    private let insertPrediction: Statement
    private let saveDevice: Statement
    private let addCounter: Statement
    private let insertOutbox: Statement
    private let begin: Statement
    private let commitStatement: Statement
    private var blockBuffer: [Float] = []

    /// The page size of a new database: a 1 kB vibration block fills a 4 kB page only three
    /// times (a quarter of it wasted), a 16 kB page fifteen times, and bigger pages halve the
    /// kernel's work per stored byte. A bound of a few MiB is kept to the page, and there
    /// small pages keep file and WAL closer to it.
    static func pageSize(bound: Int64) -> Int {
        bound >= 64 << 20 ? 16_384 : 4_096
    }

    init(path: String, synchronous: Database.Synchronous, maxBytes: Int64) throws {
        database = try Database(path: path, synchronous: synchronous, pageSize: Self.pageSize(bound: maxBytes))
        self.path = path
        walLimit = max(256 << 10, maxBytes / 8)
        mainLimit = maxBytes - 2 * walLimit
        // 1 MiB of page cache: writes append at the end of each series' index range, so the hot
        // pages are few; the agent's memory budget is small.
        try database.execute("PRAGMA cache_size = -1024")
        let pageSize = try database.scalar("PRAGMA page_size")?.int64 ?? 4096
        try database.execute("PRAGMA journal_size_limit = \(walLimit)")
        // 4 MiB at a time (SQLite's default of 1,000 pages of 4 KiB: a checkpoint's fsyncs hold up
        // the commit that runs it, so bigger pages must not make it longer), or less when the
        // WAL's share is smaller.
        try database.execute("PRAGMA wal_autocheckpoint = \(min((4 << 20) / pageSize, max(16, walLimit / pageSize / 2)))")
        try AgentSchema.migrator.migrate(database)
        insertReading = try database.prepare("INSERT OR IGNORE INTO readings(series, seq, ts, value) VALUES (?, ?, ?, ?)")
        insertBlock = try database.prepare(
            "INSERT OR IGNORE INTO readings(series, seq, ts, rate_hz, samples) VALUES (?, ?, ?, ?, ?)")
        insertDeadLetter = try database.prepare("""
            INSERT INTO dead_letters(received_at, topic, reason, detail, payload_size, payload_prefix)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        insertSeries = try database.prepare("""
            INSERT INTO series(device, sensor, device_type, unit) VALUES (?, ?, ?, ?)
            ON CONFLICT(device, sensor) DO UPDATE SET device_type = excluded.device_type, unit = excluded.unit
            RETURNING id
            """)
        insertEvent = try database.prepare("""
            INSERT OR IGNORE INTO maintenance_events(\(FleetTables.eventColumns))
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        insertFeatureSet = try database.prepare("""
            INSERT INTO feature_sets(\(FleetTables.featureSetColumns)) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET names = excluded.names
            RETURNING id
            """)
        insertFeature = try database.prepare("""
            INSERT INTO features(\(FleetTables.featureColumns)) VALUES (?, ?, ?, ?, ?, ?)
            """)
        insertPrediction = try database.prepare("""
            INSERT INTO predictions(\(FleetTables.predictionColumns), latency_us, suspect_sensors)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        saveDevice = try database.prepare("""
            INSERT OR REPLACE INTO devices(device, device_type, lowest_seq, highest_seq, messages, duplicates,
                                           missing, restarts, last_seen, sensor_faults, online)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        addCounter = try database.prepare(
            "INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value")
        insertOutbox = try database.prepare("INSERT INTO outbox(kind, row) VALUES (?, ?)")
        begin = try database.prepare("BEGIN")
        commitStatement = try database.prepare("COMMIT")
    }

    // MARK: Transactions

    func beginTransaction() throws(SQLiteError) {
        try begin.step()
        begin.reset()
    }

    /// Commits; then, if the WAL outgrew its share (a reader held back the checkpoint, or a
    /// large transaction), checkpoints it and truncates it.
    func commit() throws(SQLiteError) {
        try commitStatement.step()
        commitStatement.reset()
        var info = stat()
        if stat(path + "-wal", &info) == 0, Int64(info.st_size) > walLimit {
            try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    func rollback() {
        if database.inTransaction { try? database.execute("ROLLBACK") }
    }

    /// The database file and its WAL on disk, in bytes: what `max_database_size` bounds.
    var bytesOnDisk: Int64 {
        var info = stat()
        var total: Int64 = 0
        for file in [path, path + "-wal"] where stat(file, &info) == 0 { total += Int64(info.st_size) }
        return total
    }

    /// Rows waiting in the outbox. Both acks and the size bound delete its oldest rows, so its
    /// ids run without a hole from the smallest to the largest.
    func outboxRows() throws(SQLiteError) -> Int64 {
        guard let first = try database.scalar("SELECT min(id) FROM outbox")?.int64,
              let last = try database.scalar("SELECT max(id) FROM outbox")?.int64 else { return 0 }
        return last - first + 1
    }

    // MARK: Writing

    /// The id of a (device, sensor) series, created on first use.
    func series(device: String, sensor: String, deviceType: String, unit: String) throws(SQLiteError) -> Int64 {
        insertSeries.bind(device, at: 1)
        insertSeries.bind(sensor, at: 2)
        insertSeries.bind(deviceType, at: 3)
        insertSeries.bind(unit, at: 4)
        defer { insertSeries.reset() }
        _ = try insertSeries.step()
        return insertSeries.int64(0)
    }

    /// Stores one value; false when the same reading was already stored.
    @inline(__always)
    func insert(series: Int64, seq: Int64, timestamp: Double, value: Double) throws(SQLiteError) -> Bool {
        insertReading.bind(series, at: 1)
        insertReading.bind(seq, at: 2)
        insertReading.bind(timestamp, at: 3)
        insertReading.bind(value, at: 4)
        defer { insertReading.reset() }
        try insertReading.step()
        return database.changes > 0
    }

    /// Stores a block as one row of float32 samples; false when already stored.
    func insertBlock(series: Int64, seq: Int64, timestamp: Double, rateHz: Double, samples: [Double]) throws(SQLiteError) -> Bool {
        if blockBuffer.count != samples.count { blockBuffer = Array(repeating: 0, count: samples.count) }
        blockBuffer.withUnsafeMutableBufferPointer { floats in
            for index in 0..<floats.count { floats[index] = Float(samples[index]) }
        }
        insertBlock.bind(series, at: 1)
        insertBlock.bind(seq, at: 2)
        insertBlock.bind(timestamp, at: 3)
        insertBlock.bind(rateHz, at: 4)
        blockBuffer.withUnsafeBytes { insertBlock.bindBlob($0, at: 5) }
        defer { insertBlock.reset() }
        try insertBlock.step()
        return database.changes > 0
    }

    /// Records a refused message with its reason and the first bytes of its payload.
    func deadLetter(topic: String, error: PayloadError, payload: UnsafeRawBufferPointer, payloadSize: Int,
                    receivedAt: Double) throws(SQLiteError) {
        insertDeadLetter.bind(receivedAt, at: 1)
        insertDeadLetter.bind(topic, at: 2)
        insertDeadLetter.bind(error.reason.rawValue, at: 3)
        insertDeadLetter.bind(error.detail, at: 4)
        insertDeadLetter.bind(Int64(payloadSize), at: 5)
        insertDeadLetter.bindBlob(UnsafeRawBufferPointer(rebasing: payload.prefix(MessageInbox.oversizedPrefix)), at: 6)
        defer { insertDeadLetter.reset() }
        try insertDeadLetter.step()
    }

    /// The id of a feature set, created on first use.
    func featureSet(_ identity: FeatureSetIdentity) throws(SQLiteError) -> Int64 {
        insertFeatureSet.bind(identity.deviceType, at: 1)
        insertFeatureSet.bind(identity.sensor, at: 2)
        insertFeatureSet.bind(identity.window.kind, at: 3)
        insertFeatureSet.bind(identity.window.canonical, at: 4)
        insertFeatureSet.bind(identity.namesText, at: 5)
        defer { insertFeatureSet.reset() }
        _ = try insertFeatureSet.step()
        return insertFeatureSet.int64(0)
    }

    /// Stores one feature window; returns its id.
    func insert(_ row: FeatureStream.Row, series: Int64, featureSet: Int64) throws(SQLiteError) -> Int64 {
        insertFeature.bind(series, at: 1)
        insertFeature.bind(featureSet, at: 2)
        insertFeature.bind(row.start, at: 3)
        insertFeature.bind(row.end, at: 4)
        insertFeature.bind(Int64(row.sampleCount), at: 5)
        FleetTables.blob(row.values).withUnsafeBytes { insertFeature.bindBlob($0, at: 6) }
        defer { insertFeature.reset() }
        try insertFeature.step()
        return database.lastInsertRowID
    }

    /// Stores one prediction, `probabilities` as a JSON list in the model's class order; returns its id.
    func insert(_ prediction: ModelScoring.Prediction, device: String) throws(SQLiteError) -> Int64 {
        insertPrediction.bind(device, at: 1)
        insertPrediction.bind(prediction.model, at: 2)
        insertPrediction.bind(prediction.version, at: 3)
        insertPrediction.bind(prediction.windowEnd, at: 4)
        insertPrediction.bind(prediction.predicted, at: 5)
        insertPrediction.bind(FleetTables.text(prediction.probabilities), at: 6)
        insertPrediction.bind(prediction.latencySeconds * 1e6, at: 7)
        insertPrediction.bind(prediction.suspectSensors, at: 8)
        defer { insertPrediction.reset() }
        try insertPrediction.step()
        return database.lastInsertRowID
    }

    /// Stores a maintenance event; returns its id, or nil when the same event was already stored.
    func insert(_ event: MaintenanceEvent, receivedAt: Double) throws(SQLiteError) -> Int64? {
        insertEvent.bind(event.device, at: 1)
        insertEvent.bind(event.kind.rawValue, at: 2)
        insertEvent.bind(event.mode.map(SQLValue.text) ?? .null, at: 3)
        insertEvent.bind(event.timestamp, at: 4)
        insertEvent.bind(event.source.map(SQLValue.text) ?? .null, at: 5)
        insertEvent.bind(event.note.map(SQLValue.text) ?? .null, at: 6)
        insertEvent.bind(receivedAt, at: 7)
        defer { insertEvent.reset() }
        try insertEvent.step()
        return database.changes > 0 ? database.lastInsertRowID : nil
    }

    /// Queues a device's stored readings with `after < ts <= upTo` for upload, in id order.
    func enqueueReadings(device: String, after: Double, upTo: Double) throws(SQLiteError) {
        try database.prepare("""
            INSERT INTO outbox(kind, row) SELECT \(OutboxKind.reading.rawValue), r.id FROM readings r JOIN series s ON s.id = r.series
            WHERE s.device = ? AND r.ts > ? AND r.ts <= ? ORDER BY r.id
            """).run([.text(device), .real(after), .real(upTo)])
    }

    /// Queues a stored row for upload.
    func enqueue(_ kind: OutboxKind, row: Int64) throws(SQLiteError) {
        insertOutbox.bind(kind.rawValue, at: 1)
        insertOutbox.bind(row, at: 2)
        defer { insertOutbox.reset() }
        try insertOutbox.step()
    }

    func save(device: String, type: String, sequence: DeviceSequence, lastSeen: Double, quality: DataQuality,
              online: Bool?) throws(SQLiteError) {
        saveDevice.bind(device, at: 1)
        saveDevice.bind(type, at: 2)
        saveDevice.bind(sequence.lowest, at: 3)
        saveDevice.bind(sequence.highest, at: 4)
        saveDevice.bind(sequence.messages, at: 5)
        saveDevice.bind(sequence.duplicates, at: 6)
        saveDevice.bind(sequence.missing, at: 7)
        saveDevice.bind(sequence.restarts, at: 8)
        saveDevice.bind(lastSeen, at: 9)
        saveDevice.bind(quality.stored, at: 10)
        if let online { saveDevice.bind(Int64(online ? 1 : 0), at: 11) } else { saveDevice.bindNull(at: 11) }
        defer { saveDevice.reset() }
        try saveDevice.step()
    }

    func add(_ amount: Int64, to counter: String) throws(SQLiteError) {
        addCounter.bind(counter, at: 1)
        addCounter.bind(amount, at: 2)
        defer { addCounter.reset() }
        try addCounter.step()
    }

    // MARK: Reading back on start

    /// Every device's sequence state, as last committed.
    func loadDevices() throws(SQLiteError) -> [(device: String, type: String, sequence: DeviceSequence, lastSeen: Double,
                                                quality: DataQuality, online: Bool?)] {
        try database.rows("""
            SELECT device, device_type, lowest_seq, highest_seq, messages, duplicates, missing, restarts, last_seen, sensor_faults, online
            FROM devices
            """).map { row in
            var sequence = DeviceSequence()
            sequence.lowest = row[2].int64 ?? -1
            sequence.highest = row[3].int64 ?? -1
            sequence.messages = row[4].int64 ?? 0
            sequence.duplicates = row[5].int64 ?? 0
            sequence.missing = row[6].int64 ?? 0
            sequence.restarts = row[7].int64 ?? 0
            return (row[0].string ?? "", row[1].string ?? "", sequence, row[8].double ?? 0, DataQuality(stored: row[9].string ?? ""),
                    row[10].int64.map { $0 != 0 })
        }
    }

    /// Each device's last repair, device time.
    func lastRepairs() throws(SQLiteError) -> [String: Double] {
        var repairs: [String: Double] = [:]
        for row in try database.rows("SELECT device, max(ts) FROM maintenance_events WHERE kind = 'repair' GROUP BY device") {
            repairs[row[0].string ?? ""] = row[1].double
        }
        return repairs
    }

    /// The stored feature windows of devices of `deviceType`, in the order they were stored,
    /// one at a time (a long history need not fit in memory).
    func forEachFeatureRow(deviceType: String,
                           _ body: (_ device: String, _ featureSet: Int64, _ start: Double, _ end: Double, _ values: [Double]) -> Void)
        throws(SQLiteError) {
        let query = try database.prepare("""
            SELECT s.device, f.feature_set, f.window_start, f.window_end, f.vector FROM features f JOIN series s ON s.id = f.series
            WHERE s.device_type = ? ORDER BY f.id
            """)
        query.bind(deviceType, at: 1)
        defer { query.reset() }
        while try query.step() {
            body(query.text(0), query.int64(1), query.double(2), query.double(3), FleetTables.vector(query.blob(4)))
        }
    }

    // MARK: Size bound

    /// Deletes the oldest raw readings until the database's used pages fit in `target` bytes;
    /// returns how many rows went. Also keeps only the newest dead letters. Features,
    /// predictions, labels and the outbox are never touched here.
    func shrink(to target: Int64, keepDeadLetters: Int64 = 10_000) throws(SQLiteError) -> Int64 {
        try database.execute("""
            DELETE FROM dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - \(keepDeadLetters)
            """)
        var deleted: Int64 = 0
        for _ in 0..<64 {
            let used = try database.usedBytes()
            guard used > target else { break }
            let unqueued = "FROM readings WHERE id NOT IN (SELECT row FROM outbox WHERE kind = \(OutboxKind.reading.rawValue))"
            guard let first = try database.scalar("SELECT min(id) \(unqueued)")?.int64,
                  let last = try database.scalar("SELECT max(id) \(unqueued)")?.int64 else { break }
            let rows = max(1, last - first + 1)
            // Delete the share of rows that the excess is of the used bytes, plus a little, so
            // one pass usually does it and the next bound check is a while away.
            let share = min(1, Double(used - target) / Double(used) + 0.02)
            let cut = first + max(1, Int64(Double(rows) * share))
            // Readings waiting in the outbox stay: they go with the unsent rows, last.
            try database.execute("""
                DELETE FROM readings WHERE id < \(cut) AND id NOT IN (SELECT row FROM outbox WHERE kind = \(OutboxKind.reading.rawValue))
                """)
            deleted += Int64(database.changes)
        }
        return deleted
    }

    /// Deletes the oldest feature windows and predictions the trainer already holds (in no
    /// outbox row) until the used pages fit in `target`; returns how many rows went.
    func shrinkSent(to target: Int64) throws(SQLiteError) -> Int64 {
        var deleted: Int64 = 0
        for (table, kind) in [("predictions", OutboxKind.prediction), ("features", OutboxKind.feature)] {
            for _ in 0..<64 {
                guard try database.usedBytes() > target else { return deleted }
                try database.execute("""
                    DELETE FROM \(table) WHERE id IN (
                        SELECT id FROM \(table) WHERE id NOT IN (SELECT row FROM outbox WHERE kind = \(kind.rawValue))
                        ORDER BY id LIMIT 1000)
                    """)
                guard database.changes > 0 else { break }
                deleted += Int64(database.changes)
            }
        }
        return deleted
    }

    /// The last resort: deletes the oldest unsent outbox rows and the windows, events and
    /// predictions they point at, until the used pages fit in `target`; returns how many went.
    func shrinkOutbox(to target: Int64) throws(SQLiteError) -> Int64 {
        var deleted: Int64 = 0
        for _ in 0..<64 {
            guard try database.usedBytes() > target else { break }
            // A thousand rows at a time (or what is left).
            let thousandth = try database.scalar("SELECT id FROM outbox ORDER BY id LIMIT 1 OFFSET 999")?.int64
            let last = try database.scalar("SELECT max(id) FROM outbox")?.int64
            guard let cut = thousandth ?? last else { break }
            for (table, kind) in [("features", OutboxKind.feature), ("maintenance_events", .event), ("predictions", .prediction),
                                  ("readings", .reading)] {
                try database.execute("DELETE FROM \(table) WHERE id IN (SELECT row FROM outbox WHERE kind = \(kind.rawValue) AND id <= \(cut))")
            }
            try database.execute("DELETE FROM outbox WHERE id <= \(cut)")
            deleted += Int64(database.changes)
            try database.execute("DELETE FROM upstream_batches WHERE first_outbox_id <= \(cut)")
        }
        return deleted
    }
}
