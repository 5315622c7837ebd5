import VigilFleet
import VigilStore

/// The agent database's schema, one migration step per version. Later versions add tables for
/// features, predictions and the upstream outbox; a step is never edited once released.
enum AgentSchema {
    static let migrator = Migrator(steps: [
        """
        -- Version 1: raw readings, devices, dead letters, counters.
        CREATE TABLE series(
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            sensor TEXT NOT NULL,
            device_type TEXT NOT NULL,
            unit TEXT NOT NULL,
            UNIQUE(device, sensor)
        );
        -- One row per message and sensor; a block is one row whose samples are little-endian
        -- float32 in `samples`, the first at `ts`, the rest 1/rate_hz apart.
        CREATE TABLE readings(
            id INTEGER PRIMARY KEY,
            series INTEGER NOT NULL REFERENCES series(id),
            seq INTEGER NOT NULL,
            ts REAL NOT NULL,
            value REAL,
            rate_hz REAL,
            samples BLOB
        );
        -- A message replayed by the device or redelivered by the broker has the same series,
        -- seq and ts, and is stored once; a rebooted device reusing a seq has another ts.
        CREATE UNIQUE INDEX readings_identity ON readings(series, seq, ts);
        CREATE TABLE devices(
            device TEXT PRIMARY KEY,
            device_type TEXT NOT NULL,
            lowest_seq INTEGER NOT NULL,
            highest_seq INTEGER NOT NULL,
            messages INTEGER NOT NULL,
            duplicates INTEGER NOT NULL,
            missing INTEGER NOT NULL,
            restarts INTEGER NOT NULL,
            last_seen REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE dead_letters(
            id INTEGER PRIMARY KEY,
            received_at REAL NOT NULL,
            topic TEXT NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL,
            payload_size INTEGER NOT NULL,
            payload_prefix BLOB NOT NULL
        );
        CREATE TABLE counters(
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        """
        -- Version 2: maintenance events, the labels for training.
        CREATE TABLE maintenance_events(
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            kind TEXT NOT NULL,
            fault_mode TEXT,
            ts REAL NOT NULL,
            source TEXT,
            note TEXT,
            received_at REAL NOT NULL,
            UNIQUE(device, kind, ts)
        );
        """,
        """
        -- Version 3: feature windows. A feature set is one profile's feature spec: which sensor,
        -- which window, which features in which order; a feature row is one window's vector.
        CREATE TABLE feature_sets(
            id INTEGER PRIMARY KEY,
            device_type TEXT NOT NULL,
            sensor TEXT NOT NULL,
            window_kind TEXT NOT NULL,
            window TEXT NOT NULL,
            names TEXT NOT NULL,
            UNIQUE(device_type, sensor, window_kind, window, names)
        );
        -- `vector` is little-endian float64, in the set's `names` order.
        CREATE TABLE features(
            id INTEGER PRIMARY KEY,
            series INTEGER NOT NULL REFERENCES series(id),
            feature_set INTEGER NOT NULL REFERENCES feature_sets(id),
            window_start REAL NOT NULL,
            window_end REAL NOT NULL,
            sample_count INTEGER NOT NULL,
            vector BLOB NOT NULL
        );
        CREATE INDEX features_by_series ON features(series, window_end);
        """,
        """
        -- Version 4: model predictions, one per scored window.
        CREATE TABLE predictions(
            id INTEGER PRIMARY KEY,
            device TEXT NOT NULL,
            model TEXT NOT NULL,
            version TEXT NOT NULL,
            window_end REAL NOT NULL,
            predicted TEXT NOT NULL,
            probabilities TEXT NOT NULL,
            latency_us REAL NOT NULL
        );
        CREATE INDEX predictions_by_device ON predictions(device, id);
        """,
        """
        -- Version 5: fleet sync. Feature sets name their window in its canonical text
        -- (count:SIZE:HOP, time:SECONDS:HOP), as upstream batches and model manifests do.
        \(FleetTables.canonicalWindowsMigration)
        -- The outbox: every feature window, maintenance event and prediction stored while upload
        -- is on gets a row (kind 1, 2, 3; `row` is its id in its table) in the same transaction.
        -- A row leaves only when the trainer's ack covers the batch that carried it. Ids only
        -- grow (AUTOINCREMENT): an emptied outbox must not hand out ids a batch already covered.
        CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, row INTEGER NOT NULL);
        -- Batches formed and not yet acknowledged, with the outbox ids they carry: resent with the
        -- same sequence and the same rows after a timeout, a reconnect or a restart.
        CREATE TABLE upstream_batches(
            seq INTEGER PRIMARY KEY,
            first_outbox_id INTEGER NOT NULL,
            last_outbox_id INTEGER NOT NULL,
            rows INTEGER NOT NULL
        );
        -- Uplink state: epoch (this database's random identity upstream), acked_seq, last_ack_at, connected.
        CREATE TABLE upstream(name TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;
        -- The models running per device type, and every install attempt with its result.
        CREATE TABLE running_models(
            device_type TEXT NOT NULL,
            model TEXT NOT NULL,
            version TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            PRIMARY KEY(device_type, model)
        ) WITHOUT ROWID;
        CREATE TABLE model_installs(
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            device_type TEXT NOT NULL,
            model TEXT NOT NULL,
            version TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            state TEXT NOT NULL,
            reason TEXT NOT NULL
        );
        """,
        """
        -- Version 6: what is wrong with a device's data rather than its machine (`DataQuality`):
        -- sorted fault names, comma-separated; empty when none.
        ALTER TABLE devices ADD COLUMN sensor_faults TEXT NOT NULL DEFAULT '';
        """,
        """
        -- Version 7: whether a Sparkplug B device is online (born, not dead): 1 or 0; NULL for a
        -- device whose protocol does not say.
        ALTER TABLE devices ADD COLUMN online INTEGER;
        """,
        """
        -- Version 8: no query reads feature windows by series and time (upload and the size bound
        -- go by id, warm-up scans them in id order), and the index cost two fifths of every
        -- window's insert: a block sensor with overlapping windows stores several a message.
        DROP INDEX features_by_series;
        """,
        """
        -- Version 9: the sensors a prediction's model found stuck or drifting and scored at
        -- healthy (`drift:pressure,stuck:flow`, sorted); empty when none.
        ALTER TABLE predictions ADD COLUMN suspect_sensors TEXT NOT NULL DEFAULT '';
        """,
    ])
}
