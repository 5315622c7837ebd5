import VigilCore
import VigilFeatures
import VigilFleet
import VigilInference
import VigilStore

/// Where training data comes from: the tables an agent's database and the trainer's store
/// share (`FleetTables`). Both read them with the same queries; they differ in how a device is
/// known: by its name in one agent's database, by agent and name (`agent/device`) in the
/// fleet's store, so two agents' devices of the same name stay apart.
public protocol DatasetSource {
    /// The database, read-only.
    var database: Database { get }
    /// The file, for errors.
    var path: String { get }
    /// The SQL that names a device uniquely, over a table with `device` (and `agent`) columns.
    var deviceKey: String { get }
}

/// One agent's database.
public struct AgentDatabase: DatasetSource {
    public let database: Database
    public let path: String
    public var deviceKey: String { "device" }
}

/// The trainer's store of the whole fleet's uploads.
public struct TrainerStore: DatasetSource {
    public let database: Database
    public let path: String
    public var deviceKey: String { "agent || '/' || device" }
}

/// Opens `path` read-only as whichever it is: the trainer's store knows each row's agent.
public func openDatasetSource(_ path: String) throws -> any DatasetSource {
    let database = try Database(path: path, readOnly: true)
    let perAgent = try !database.rows("SELECT name FROM pragma_table_info('series') WHERE name = 'agent'").isEmpty
    return perAgent ? TrainerStore(database: database, path: path) : AgentDatabase(database: database, path: path)
}

extension DatasetSource {
    /// The labelled dataset of `profile`'s devices: one example per window of the profile's first
    /// feature spec, with the latest window of every other spec at or before it and after the
    /// device's last repair (as the agent scores). Feature windows are matched on their full
    /// identity (device type, sensor, canonical window, names). With a `context`, each example
    /// holds the network's inputs (`InputContext`), and windows a baseline took are left out.
    /// An example whose latest window of a sensor read one value throughout names that sensor
    /// (`stuckSensors`), as the agent knows it.
    public func dataset(profile: DeviceProfile, rule: LabelRule, context: InputContext? = nil) throws -> Dataset {
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
        var faults: [String: [Dataset.Fault]] = [:], repairs: [String: [Double]] = [:]
        for row in try database.rows("SELECT \(deviceKey), kind, ts, fault_mode FROM maintenance_events WHERE kind IN ('fault', 'repair') ORDER BY ts") {
            if row[1].string == "fault" {
                faults[row[0].string ?? "", default: []].append(.init(time: row[2].double ?? 0, mode: row[3].string))
            } else {
                repairs[row[0].string ?? "", default: []].append(row[2].double ?? 0)
            }
        }
        // Every window of every spec, per device, in time order, and whether its sensor was stuck.
        var windows: [String: [(end: Double, spec: Int, values: [Double], stuck: Bool)]] = [:]
        let query = try database.prepare("""
            SELECT (SELECT \(deviceKey) FROM series s WHERE s.id = f.series), f.window_end, f.vector, f.sample_count FROM features f
            WHERE f.feature_set = ? ORDER BY f.window_end
            """)
        for (spec, id) in setIDs.enumerated() {
            let features = profile.features[spec]
            let stuckCheck = profile.sensors[features.sensor].stuckCheck
            for row in try query.rows([.integer(id)]) {
                guard case .blob(let bytes) = row[2] else { continue }
                let values = FleetTables.vector(bytes)
                let stuck = stuckCheck && FeatureStream.Row.constant(names: features.features, values: values,
                                                                    sampleCount: Int(row[3].int64 ?? 0)) == true
                windows[row[0].string ?? "", default: []].append((row[1].double ?? 0, spec, values, stuck))
            }
        }
        var examples: [Dataset.Example] = []
        var spans: [String: (start: Double, end: Double)] = [:]
        for (device, all) in windows.sorted(by: { $0.key < $1.key }) {
            let ordered = all.sorted { $0.end < $1.end || ($0.end == $1.end && $0.spec < $1.spec) }
            let dataEnd = ordered.last?.end ?? 0
            spans[device] = (ordered.first?.end ?? 0, dataEnd)
            var latest: [Int: [Double]] = [:]
            var stuck: Set<Int> = []
            var state = InputContext.State()
            var inputs: [Double] = []
            var pendingRepairs = repairs[device] ?? []
            let faultTimes = (faults[device] ?? []).map(\.time)
            for window in ordered {
                // A repair restores the machine: windows from before it no longer describe it.
                while let repair = pendingRepairs.first, repair <= window.end {
                    latest.removeAll()
                    stuck.removeAll()
                    state = InputContext.State()
                    pendingRepairs.removeFirst()
                }
                latest[window.spec] = window.values
                if window.stuck { stuck.insert(window.spec) } else { stuck.remove(window.spec) }
                guard window.spec == 0, latest.count == setIDs.count else { continue }
                let raw = (0..<setIDs.count).flatMap { latest[$0]! }
                if let context {
                    guard state.next(raw, at: window.end, context: context, into: &inputs) else { continue }
                } else {
                    inputs = raw
                }
                guard let label = rule.label(windowEnd: window.end, faults: faultTimes, dataEnd: dataEnd) else { continue }
                let next = faults[device]?.next(atOrAfter: window.end)
                let stuckSensors = Set(stuck.map { profile.sensors[profile.features[$0].sensor].name }).sorted()
                examples.append(.init(device: device, windowEnd: window.end, features: inputs, label: label, mode: label == 1 ? next?.mode : nil,
                                      soon: label == 0 && rule.isSoon(windowEnd: window.end, faults: faultTimes), stuckSensors: stuckSensors))
            }
        }
        return Dataset(featureNames: InputContext.names(names, for: context), examples: examples, faults: faults.filter { spans[$0.key] != nil }, spans: spans)
    }

    /// How many fault events the devices of `deviceType` have had.
    public func faultCount(deviceType: String) throws -> Int64 {
        try database.scalar("""
            SELECT count(*) FROM maintenance_events
            WHERE kind = 'fault' AND \(deviceKey) IN (SELECT \(deviceKey) FROM series WHERE device_type = ?)
            """, [.text(deviceType)])?.int64 ?? 0
    }
}
