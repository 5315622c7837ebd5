import VigilCore
import VigilFleet
import VigilStore

/// The trainer's SQLite store. Its feature and event tables have the agent database's shape
/// (`FleetTables`) plus the agent: series are keyed by (agent, device, sensor) and events by
/// (agent, device, kind, ts), so two agents' devices of the same name stay apart. The same
/// dataset builder trains from one agent's database or from the whole fleet's store.
public final class SQLiteUpstreamStore: UpstreamStore {
    static let migrator = Migrator(steps: [
        """
        CREATE TABLE batches(agent TEXT NOT NULL, seq INTEGER NOT NULL, rows INTEGER NOT NULL, received_at REAL NOT NULL,
                             PRIMARY KEY(agent, seq)) WITHOUT ROWID;
        CREATE TABLE agents(agent TEXT PRIMARY KEY, acknowledged INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE series(id INTEGER PRIMARY KEY, device TEXT NOT NULL, sensor TEXT NOT NULL, device_type TEXT NOT NULL,
                            unit TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL, UNIQUE(device, sensor));
        CREATE TABLE feature_sets(id INTEGER PRIMARY KEY, device_type TEXT NOT NULL, sensor TEXT NOT NULL, window_kind TEXT NOT NULL,
                                  window TEXT NOT NULL, names TEXT NOT NULL, UNIQUE(device_type, sensor, window_kind, window, names));
        CREATE TABLE features(id INTEGER PRIMARY KEY, series INTEGER NOT NULL REFERENCES series(id),
                              feature_set INTEGER NOT NULL REFERENCES feature_sets(id), window_start REAL NOT NULL,
                              window_end REAL NOT NULL, sample_count INTEGER NOT NULL, vector BLOB NOT NULL);
        CREATE INDEX features_by_series ON features(series, window_end);
        CREATE TABLE maintenance_events(id INTEGER PRIMARY KEY, device TEXT NOT NULL, kind TEXT NOT NULL, fault_mode TEXT,
                                        ts REAL NOT NULL, source TEXT, note TEXT, received_at REAL NOT NULL, UNIQUE(device, kind, ts));
        CREATE TABLE predictions(id INTEGER PRIMARY KEY, agent TEXT NOT NULL, device TEXT NOT NULL, model TEXT NOT NULL,
                                 version TEXT NOT NULL, window_end REAL NOT NULL, predicted TEXT NOT NULL, probabilities TEXT NOT NULL);
        """,
        """
        -- Version 2: rows keyed by agent; windows in their canonical text; batches by agent database (epoch).
        DROP TABLE batches;
        DROP TABLE agents;
        CREATE TABLE batches(agent TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL, rows INTEGER NOT NULL,
                             received_at REAL NOT NULL, PRIMARY KEY(agent, epoch, seq)) WITHOUT ROWID;
        CREATE TABLE agents(agent TEXT NOT NULL, epoch TEXT NOT NULL, acknowledged INTEGER NOT NULL,
                            PRIMARY KEY(agent, epoch)) WITHOUT ROWID;
        -- Raw readings agents send (sampled, or around alarms), as the agent stores them.
        CREATE TABLE readings(id INTEGER PRIMARY KEY, series INTEGER NOT NULL REFERENCES series(id), seq INTEGER NOT NULL,
                              ts REAL NOT NULL, value REAL, rate_hz REAL, samples BLOB, UNIQUE(series, seq, ts));
        CREATE TABLE series_by_agent(id INTEGER PRIMARY KEY, agent TEXT NOT NULL, device TEXT NOT NULL, sensor TEXT NOT NULL,
                                     device_type TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '', UNIQUE(agent, device, sensor));
        INSERT INTO series_by_agent(id, agent, device, sensor, device_type, unit) SELECT id, agent, device, sensor, device_type, unit FROM series;
        DROP TABLE series;
        ALTER TABLE series_by_agent RENAME TO series;
        CREATE TABLE events_by_agent(id INTEGER PRIMARY KEY, agent TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL,
                                     fault_mode TEXT, ts REAL NOT NULL, source TEXT, note TEXT, received_at REAL NOT NULL,
                                     UNIQUE(agent, device, kind, ts));
        INSERT INTO events_by_agent(id, agent, device, kind, fault_mode, ts, source, note, received_at)
            SELECT id, '', device, kind, fault_mode, ts, source, note, received_at FROM maintenance_events;
        DROP TABLE maintenance_events;
        ALTER TABLE events_by_agent RENAME TO maintenance_events;
        \(FleetTables.canonicalWindowsMigration)
        """,
    ])

    public let database: Database
    private let insertBatch: Statement
    private let insertSet: Statement
    private let insertSeries: Statement
    private let insertFeature: Statement
    private let insertEvent: Statement
    private let insertPrediction: Statement
    private let insertReading: Statement
    private let hasBatch: Statement
    private let saveAgent: Statement
    private var seriesIDs: [String: Int64] = [:]

    public init(path: String) throws {
        database = try Database(path: path)
        try Self.migrator.migrate(database)
        insertBatch = try database.prepare("INSERT OR IGNORE INTO batches(agent, epoch, seq, rows, received_at) VALUES (?, ?, ?, ?, ?)")
        insertSet = try database.prepare("""
            INSERT INTO feature_sets(\(FleetTables.featureSetColumns)) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET names = excluded.names RETURNING id
            """)
        insertSeries = try database.prepare("""
            INSERT INTO series(device, sensor, device_type, agent) VALUES (?, ?, ?, ?)
            ON CONFLICT(agent, device, sensor) DO UPDATE SET device_type = excluded.device_type RETURNING id
            """)
        insertFeature = try database.prepare("""
            INSERT INTO features(\(FleetTables.featureColumns)) VALUES (?, ?, ?, ?, ?, ?)
            """)
        insertEvent = try database.prepare("""
            INSERT OR IGNORE INTO maintenance_events(\(FleetTables.eventColumns), agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertPrediction = try database.prepare("""
            INSERT INTO predictions(\(FleetTables.predictionColumns), agent) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        insertReading = try database.prepare("INSERT OR IGNORE INTO readings(\(FleetTables.readingColumns)) VALUES (?, ?, ?, ?, ?, ?)")
        hasBatch = try database.prepare("SELECT 1 FROM batches WHERE agent = ? AND epoch = ? AND seq = ?")
        saveAgent = try database.prepare("INSERT OR REPLACE INTO agents(agent, epoch, acknowledged) VALUES (?, ?, ?)")
    }

    public func acknowledged(agent: String, epoch: String) throws -> Int64 {
        try database.scalar("SELECT acknowledged FROM agents WHERE agent = ? AND epoch = ?", [.text(agent), .text(epoch)])?.int64 ?? -1
    }

    public func store(_ batch: UpstreamBatch) throws -> (stored: Bool, acknowledged: Int64) {
        let cached = seriesIDs
        do {
            return try storeInTransaction(batch)
        } catch {
            // Ids made in the rolled-back transaction do not exist.
            seriesIDs = cached
            throw error
        }
    }

    private func storeInTransaction(_ batch: UpstreamBatch) throws -> (stored: Bool, acknowledged: Int64) {
        try database.transaction {
            insertBatch.bind([.text(batch.agent), .text(batch.epoch), .integer(batch.sequence), .integer(Int64(batch.rowCount)),
                              .real(WallClock.now())])
            try insertBatch.step()
            insertBatch.reset()
            let stored = database.changes > 0
            if stored { try storeRows(batch) }
            // Advance the acknowledgement over every batch now held without a gap.
            var acknowledged = try acknowledged(agent: batch.agent, epoch: batch.epoch)
            while try hasBatch.rows([.text(batch.agent), .text(batch.epoch), .integer(acknowledged + 1)]).isEmpty == false {
                acknowledged += 1
            }
            try saveAgent.run([.text(batch.agent), .text(batch.epoch), .integer(acknowledged)])
            return (stored, acknowledged)
        }
    }

    private func storeRows(_ batch: UpstreamBatch) throws {
        var sets: [Int64: (id: Int64, set: UpstreamBatch.FeatureSet)] = [:]
        for set in batch.featureSets {
            let identity = set.identity
            let rows = try insertSet.rows([.text(identity.deviceType), .text(identity.sensor), .text(identity.window.kind),
                                           .text(identity.window.canonical), .text(identity.namesText)])
            sets[set.id] = (rows.first?.first?.int64 ?? 0, set)
        }
        for feature in batch.features {
            guard let set = sets[feature.set] else {
                throw SQLiteError(code: 0, message: "feature window names set \(feature.set), which the batch does not define",
                                  context: "batch \(batch.agent)/\(batch.sequence)")
            }
            let series = try seriesID(agent: batch.agent, device: feature.device, sensor: set.set.identity.sensor,
                                      deviceType: set.set.identity.deviceType)
            insertFeature.bind(series, at: 1)
            insertFeature.bind(set.id, at: 2)
            insertFeature.bind(feature.start, at: 3)
            insertFeature.bind(feature.end, at: 4)
            insertFeature.bind(Int64(feature.count), at: 5)
            FleetTables.blob(feature.values).withUnsafeBytes { insertFeature.bindBlob($0, at: 6) }
            try insertFeature.step()
            insertFeature.reset()
        }
        for event in batch.events {
            try insertEvent.run([.text(event.device), .text(event.kind.rawValue), event.mode.map(SQLValue.text) ?? .null,
                                 .real(event.timestamp), event.source.map(SQLValue.text) ?? .null,
                                 event.note.map(SQLValue.text) ?? .null, .real(WallClock.now()), .text(batch.agent)])
        }
        for reading in batch.readings {
            let series = try seriesID(agent: batch.agent, device: reading.device, sensor: reading.sensor, deviceType: reading.deviceType)
            let samples: SQLValue = reading.samples.map { .blob(FleetTables.blob($0)) } ?? .null
            try insertReading.run([.integer(series), .integer(reading.seq), .real(reading.timestamp),
                                   reading.value.map(SQLValue.real) ?? .null, reading.rateHz.map(SQLValue.real) ?? .null, samples])
        }
        for prediction in batch.predictions {
            try insertPrediction.run([.text(prediction.device), .text(prediction.model), .text(prediction.version),
                                      .real(prediction.windowEnd), .text(prediction.predicted),
                                      .text(FleetTables.text(prediction.probabilities)), .text(batch.agent)])
        }
    }

    /// The id of an (agent, device, sensor) series, created on first use.
    private func seriesID(agent: String, device: String, sensor: String, deviceType: String) throws -> Int64 {
        let key = agent + "\u{0}" + device + "\u{0}" + sensor
        if let known = seriesIDs[key] { return known }
        let id = try insertSeries.rows([.text(device), .text(sensor), .text(deviceType), .text(agent)]).first?.first?.int64 ?? 0
        seriesIDs[key] = id
        return id
    }
}
