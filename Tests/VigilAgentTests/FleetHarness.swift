#if canImport(Glibc)
import Glibc
#endif
import VigilCore
import VigilInference
import VigilMQTT
import VigilStore
import VigilTestSupport
import VigilTrainer

/// An edge broker with an agent (`AgentHarness`), a central broker with persistence, and the
/// trainer's store beside them: the two halves of fleet sync on one machine.
final class FleetHarness {
    let edge: AgentHarness
    let central: TestBroker
    let key = Ed25519.generate()
    var store: String { edge.directory.file("trainer.db") }

    init(centralConfiguration: String = "") throws {
        edge = try AgentHarness(persistence: true)
        central = try TestBroker(configuration: centralConfiguration, persistence: true)
        try configure()
    }

    /// The agent config with upload to the central broker; `upstream` adds fields to the
    /// `upstream` object and `extra` top-level fields, as JSON text.
    func configure(upstream: String = "", batchRows: Int = 40, _ extra: String = "") throws {
        try edge.writeConfiguration(broker: #", "reconnect_min_delay": 0.2, "reconnect_max_delay": 1"#, """
            "trusted_keys": ["\(ModelBundle.hex(key.publicKey))"],
              "models": "models",
              "upstream": {"url": "\(central.url)", "reconnect_min_delay": 0.2, "reconnect_max_delay": 1, "ack_timeout": 2,
                           "batch_rows": \(batchRows)\(upstream)}\(extra.isEmpty ? "" : ",\n  " + extra)
            """)
        mkdir(edge.directory.file("models"), 0o755)
    }

    /// The trainer's ingest, in this process.
    func startIngest(metrics: TrainerMetrics = TrainerMetrics(), drift: DriftBoard? = nil) throws -> UpstreamIngest {
        let ingest = try UpstreamIngest(central: CentralBroker(url: BrokerURL(parsing: central.url)), store: SQLiteUpstreamStore(path: store),
                                        drift: drift, metrics: metrics)
        ingest.start()
        guard ingest.waitUntilReady(timeout: 10) else { throw TestFailure("the trainer's ingest did not subscribe") }
        return ingest
    }

    /// `count` temperature readings per device, one per second from `first`: every ten close a
    /// 10 s feature window.
    static func readings(devices: [String], seconds: Range<Int>) -> [(topic: String, payload: String)] {
        seconds.flatMap { second in
            devices.map { device in
                ("plant/motor/\(device)/temperature", #"{"seq": \#(second), "ts": \#(1750000000 + second), "value": \#(40 + second % 20)}"#)
            }
        }
    }

    /// A fault event for a device.
    static func fault(_ device: String, at second: Int) -> (topic: String, payload: String) {
        ("vigil/maintenance/\(device)", #"{"kind": "fault", "mode": "overheat", "ts": \#(1750000000 + second)}"#)
    }

    /// Feature windows, events and predictions as (device, what, when): the agent's or the
    /// trainer's, for comparing them row for row.
    static func rows(_ database: String) throws -> [String] {
        let db = try Database(path: database, readOnly: true)
        let features = try db.rows("""
            SELECT s.device || ' ' || fs.sensor || ' ' || fs.window || ' ' || f.window_end || ' ' || hex(f.vector)
            FROM features f JOIN series s ON s.id = f.series JOIN feature_sets fs ON fs.id = f.feature_set
            """)
        let events = try db.rows("SELECT device || ' ' || kind || ' ' || ts FROM maintenance_events")
        let predictions = try db.rows("SELECT device || ' ' || model || ' ' || version || ' ' || window_end || ' ' || probabilities FROM predictions")
        return (features + events + predictions).map { $0[0].string ?? "" }.sorted()
    }

    /// Waits until the agent's outbox is empty and the trainer holds as many rows as the agent.
    func waitUntilSynced(timeout: Double = 60) throws {
        let synced = eventually(timeout: timeout) {
            guard (try? edge.integer("SELECT count(*) FROM outbox")) == 0 else { return false }
            return (try? Self.rows(store).count) == (try? Self.rows(edge.database).count)
        }
        guard synced else {
            throw TestFailure("not synced: outbox \((try? edge.integer("SELECT count(*) FROM outbox")) ?? -1), agent \((try? Self.rows(edge.database).count) ?? -1) rows, trainer \((try? Self.rows(store).count) ?? -1)")
        }
    }
}
