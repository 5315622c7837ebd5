import VigilCore
import VigilFleet
import VigilStore

/// Builds a dataset from the tables an agent's database and the trainer's store share
/// (`FleetTables`): feature windows matched on their full identity (device type, sensor,
/// canonical window, names), labelled by maintenance events. In the trainer's store a device is
/// known by its agent too (`agent/device`), so two agents' devices of the same name stay apart.
public enum AgentDatabaseSource {
    /// The labelled dataset of `profile`'s devices: one example per window of the profile's first
    /// feature spec, with the latest window of every other spec at or before it.
    public static func dataset(database path: String, profile: DeviceProfile, rule: LabelRule) throws -> Dataset {
        let database = try Database(path: path, readOnly: true)
        var names: [String] = []
        var setIDs: [Int64] = []
        for spec in profile.features {
            let identity = FeatureSetIdentity(profile: profile, spec: spec)
            guard let id = try database.scalar("SELECT id FROM feature_sets WHERE device_type = ? AND sensor = ? AND window = ? AND names = ?",
                                                [.text(identity.deviceType), .text(identity.sensor), .text(identity.window.canonical),
                                                 .text(identity.namesText)])?.int64 else {
                throw ConfigurationError(file: path, field: "", problem: "no feature windows of \(profile.type).\(identity.sensor) over \(identity.window.canonical) in this database")
            }
            setIDs.append(id)
            names += spec.features.map { "\(identity.sensor).\($0)" }
        }
        let perAgent = try isPerAgent(database)
        var faults: [String: [Double]] = [:]
        for row in try database.rows("SELECT \(perAgent ? "agent || '/' || " : "")device, ts FROM maintenance_events WHERE kind = 'fault' ORDER BY ts") {
            faults[row[0].string ?? "", default: []].append(row[1].double ?? 0)
        }
        // Every window of every spec, per device, in time order.
        var windows: [String: [(end: Double, spec: Int, values: [Double])]] = [:]
        let query = try database.prepare("""
            SELECT \(perAgent ? "s.agent || '/' || " : "")s.device, f.window_end, f.vector FROM features f JOIN series s ON s.id = f.series
            WHERE f.feature_set = ? ORDER BY f.window_end
            """)
        for (spec, id) in setIDs.enumerated() {
            for row in try query.rows([.integer(id)]) {
                guard case .blob(let bytes) = row[2] else { continue }
                let values = FleetTables.vector(bytes)
                windows[row[0].string ?? "", default: []].append((row[1].double ?? 0, spec, values))
            }
        }
        var examples: [Dataset.Example] = []
        for (device, all) in windows.sorted(by: { $0.key < $1.key }) {
            let ordered = all.sorted { $0.end < $1.end || ($0.end == $1.end && $0.spec < $1.spec) }
            let dataEnd = ordered.last?.end ?? 0
            var latest: [Int: [Double]] = [:]
            for window in ordered {
                latest[window.spec] = window.values
                guard window.spec == 0, latest.count == setIDs.count,
                      let label = rule.label(windowEnd: window.end, faults: faults[device] ?? [], dataEnd: dataEnd) else { continue }
                examples.append(.init(device: device, windowEnd: window.end,
                                      features: (0..<setIDs.count).flatMap { latest[$0]! }, label: label))
            }
        }
        return Dataset(featureNames: names, examples: examples)
    }

    /// How many fault events the devices of `deviceType` have had.
    public static func faultCount(database: Database, deviceType: String) throws -> Int64 {
        let device = try isPerAgent(database) ? "agent || '/' || device" : "device"
        return try database.scalar("""
            SELECT count(*) FROM maintenance_events
            WHERE kind = 'fault' AND \(device) IN (SELECT \(device) FROM series WHERE device_type = ?)
            """, [.text(deviceType)])?.int64 ?? 0
    }

    /// The trainer's store knows each row's agent; an agent's database is one agent.
    private static func isPerAgent(_ database: Database) throws -> Bool {
        try !database.rows("SELECT name FROM pragma_table_info('series') WHERE name = 'agent'").isEmpty
    }
}
