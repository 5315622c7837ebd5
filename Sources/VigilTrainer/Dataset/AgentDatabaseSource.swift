import VigilCore
import VigilStore

/// Builds a dataset straight from an agent's database (its feature windows and maintenance
/// events), which is how a single box trains its first model before upstream sync exists.
public enum AgentDatabaseSource {
    /// The labelled dataset of `profile`'s devices: one example per window of the profile's first
    /// feature spec, with the latest window of every other spec at or before it.
    public static func dataset(database path: String, profile: DeviceProfile, rule: LabelRule) throws -> Dataset {
        let database = try Database(path: path, readOnly: true)
        var names: [String] = []
        var setIDs: [Int64] = []
        for spec in profile.features {
            let sensor = profile.sensors[spec.sensor].name
            let names_ = JSONValue.array(spec.features.map(JSONValue.string)).serialized(indent: 0)
            guard let id = try database.scalar("SELECT id FROM feature_sets WHERE device_type = ? AND sensor = ? AND names = ?",
                                                [.text(profile.type), .text(sensor), .text(names_)])?.int64 else {
                throw ConfigurationError(file: path, field: "", problem: "no feature windows of \(profile.type).\(sensor) in this database")
            }
            setIDs.append(id)
            names += spec.features.map { "\(sensor).\($0)" }
        }
        var faults: [String: [Double]] = [:]
        for row in try database.rows("SELECT device, ts FROM maintenance_events WHERE kind = 'fault' ORDER BY ts") {
            faults[row[0].string ?? "", default: []].append(row[1].double ?? 0)
        }
        // Every window of every spec, per device, in time order.
        var windows: [String: [(end: Double, spec: Int, values: [Double])]] = [:]
        let query = try database.prepare("""
            SELECT s.device, f.window_end, f.vector FROM features f JOIN series s ON s.id = f.series
            WHERE f.feature_set = ? ORDER BY f.window_end
            """)
        for (spec, id) in setIDs.enumerated() {
            for row in try query.rows([.integer(id)]) {
                guard case .blob(let bytes) = row[2] else { continue }
                let values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
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
}
