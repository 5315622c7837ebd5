#if canImport(Glibc)
import Glibc
#endif
import VigilCore
import VigilStore

/// What an agent's database says about its work: per-device message, duplicate and gap
/// counts, dead letters by reason, size. Read from a separate read-only connection, so it
/// works while the agent runs.
public struct AgentStatus: Sendable {
    /// One device's accounting.
    public struct Device: Sendable {
        public var device: String
        public var type: String
        public var messages: Int64
        public var duplicates: Int64
        public var missing: Int64
        public var restarts: Int64
        public var highestSeq: Int64
        /// Wall-clock time of its last message, Unix seconds.
        public var lastSeen: Double
        /// The latest predicted state, when a model scores the device.
        public var health: String?
        /// What is wrong with its data rather than its machine (`DataQuality`: `dropouts`, `clock_skew`, `spikes`).
        public var sensorFaults: [String]
        /// The sensors its models' latest predictions found stuck or drifting and scored at
        /// healthy (`stuck:flow`, `drift:pressure`), sorted.
        public var suspectSensors: [String] = []
        /// Whether a Sparkplug B device is online; nil for one whose protocol does not say.
        public var online: Bool?
    }

    /// A recent refusal.
    public struct DeadLetter: Sendable {
        public var receivedAt: Double
        public var topic: String
        public var reason: String
        public var detail: String
    }

    /// The uplink, when upload is on.
    public struct Upstream: Sendable {
        public var connected: Bool
        /// Rows stored and not yet acknowledged by the trainer.
        public var backlogRows: Int64
        /// The highest batch sequence the trainer holds without a gap (-1: none yet).
        public var lastAckedSeq: Int64
        /// Wall-clock time of the last ack that advanced, Unix seconds.
        public var lastAckAt: Double?
    }

    /// A model running for a device type, and its type's latest install attempt.
    public struct Model: Sendable {
        public var deviceType: String
        public var name: String
        public var version: String
        /// `running`, or `none` when the type's latest release is not running.
        public var state: String
        public var lastInstall: Install?
    }

    /// One install attempt: `installed`, `refused` or `rolled_back`, with the reason.
    public struct Install: Sendable {
        public var model: String
        public var version: String
        public var state: String
        public var reason: String
        public var at: Double
    }

    public var database: String
    /// The database file and its WAL, in bytes.
    public var databaseBytes: Int64
    /// Every counter: messages_stored, rows_stored, samples_stored, duplicates,
    /// rows_dropped_for_size, dead_letters.<reason>.
    public var counters: [String: Int64]
    public var devices: [Device]
    /// The newest dead letters, newest first.
    public var recentDeadLetters: [DeadLetter]
    public var upstream: Upstream?
    public var models: [Model]

    /// Reads the status of the database at `path`.
    public static func read(database path: String) throws -> AgentStatus {
        guard access(path, F_OK) == 0 else {
            throw ConfigurationError(file: path, field: "", problem: "no agent database here (has the agent run yet?)")
        }
        let database = try Database(path: path, readOnly: true)
        guard try database.userVersion > 0 else {
            throw ConfigurationError(file: path, field: "", problem: "not an agent database (no schema)")
        }
        var counters: [String: Int64] = [:]
        for row in try database.rows("SELECT name, value FROM counters") {
            counters[row[0].string ?? ""] = row[1].int64 ?? 0
        }
        let faults = try database.userVersion >= 6 ? "sensor_faults" : "''"
        let online = try database.userVersion >= 7 ? "online" : "NULL"
        let devices = try database.rows("""
            SELECT device, device_type, messages, duplicates, missing, restarts, highest_seq, last_seen, \(faults), \(online)
            FROM devices ORDER BY device
            """).map { row in
            Device(device: row[0].string ?? "", type: row[1].string ?? "", messages: row[2].int64 ?? 0,
                   duplicates: row[3].int64 ?? 0, missing: row[4].int64 ?? 0, restarts: row[5].int64 ?? 0,
                   highestSeq: row[6].int64 ?? -1, lastSeen: row[7].double ?? 0, health: nil,
                   sensorFaults: DataQuality(stored: row[8].string ?? "").names, online: row[9].int64.map { $0 != 0 })
        }
        var health: [String: String] = [:]
        var suspects: [String: Set<String>] = [:]
        if try database.userVersion >= 4 {
            let suspectSensors = try database.userVersion >= 9 ? "suspect_sensors" : "''"
            for row in try database.rows("""
                SELECT device, model, predicted, \(suspectSensors) FROM predictions
                WHERE id IN (SELECT max(id) FROM predictions GROUP BY device, model)
                ORDER BY device, model
                """) {
                let device = row[0].string ?? ""
                let state = "\(row[1].string ?? ""): \(row[2].string ?? "")"
                health[device] = health[device].map { $0 + ", " + state } ?? state
                suspects[device, default: []].formUnion((row[3].string ?? "").split(separator: ",").map(String.init))
            }
        }
        let letters = try database.rows(
            "SELECT received_at, topic, reason, detail FROM dead_letters ORDER BY id DESC LIMIT 5").map { row in
            DeadLetter(receivedAt: row[0].double ?? 0, topic: row[1].string ?? "", reason: row[2].string ?? "",
                       detail: row[3].string ?? "")
        }
        var upstream: Upstream?
        var models: [Model] = []
        if try database.userVersion >= 5 {
            var state: [String: Double] = [:]
            for row in try database.rows("SELECT name, value FROM upstream") { state[row[0].string ?? ""] = row[1].double }
            if !state.isEmpty {
                upstream = Upstream(connected: state["connected"] == 1, backlogRows: try database.scalar("SELECT count(*) FROM outbox")?.int64 ?? 0,
                                    lastAckedSeq: Int64(state["acked_seq"] ?? -1), lastAckAt: state["last_ack_at"])
            }
            var installs: [String: Install] = [:]
            for row in try database.rows("""
                SELECT device_type, model, version, state, reason, at FROM model_installs
                WHERE id IN (SELECT max(id) FROM model_installs GROUP BY device_type)
                """) {
                installs[row[0].string ?? ""] = Install(model: row[1].string ?? "", version: row[2].string ?? "", state: row[3].string ?? "",
                                                        reason: row[4].string ?? "", at: row[5].double ?? 0)
            }
            for row in try database.rows("SELECT device_type, model, version FROM running_models ORDER BY device_type, model") {
                let type = row[0].string ?? ""
                models.append(Model(deviceType: type, name: row[1].string ?? "", version: row[2].string ?? "", state: "running",
                                    lastInstall: installs.removeValue(forKey: type)))
            }
            for (type, install) in installs.sorted(by: { $0.key < $1.key }) {
                models.append(Model(deviceType: type, name: install.model, version: "", state: "none", lastInstall: install))
            }
        }
        return AgentStatus(database: path, databaseBytes: fileSize(path) + fileSize(path + "-wal"),
                           counters: counters, devices: devices.map { device in
                               var device = device
                               device.health = health[device.device]
                               device.suspectSensors = suspects[device.device, default: []].sorted()
                               return device
                           }, recentDeadLetters: letters, upstream: upstream, models: models)
    }

    private static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// Sum of the dead-letter counters.
    public var deadLetterTotal: Int64 {
        counters.filter { $0.key.hasPrefix("dead_letters.") }.values.reduce(0, +)
    }

    /// Refusals in total and by reason: `3: invalid_json 1, wrong_type 2`.
    public var refusals: String {
        let reasons = counters.filter { $0.key.hasPrefix("dead_letters.") && $0.value > 0 }.sorted { $0.key < $1.key }
            .map { "\($0.key.dropFirst("dead_letters.".count)) \($0.value)" }
        return "\(deadLetterTotal)\(reasons.isEmpty ? "" : ": " + reasons.joined(separator: ", "))"
    }

    /// The status as JSON, for scripts.
    public func json() -> String {
        let devices = devices.map { device -> JSONValue in
            [("device", .string(device.device)), ("type", .string(device.type)), ("messages", .number(Double(device.messages))),
             ("duplicates", .number(Double(device.duplicates))), ("missing", .number(Double(device.missing))),
             ("restarts", .number(Double(device.restarts))), ("highest_seq", .number(Double(device.highestSeq))),
             ("last_seen", .number(device.lastSeen)), ("health", device.health.map(JSONValue.string) ?? .null),
             ("sensor_faults", .array(device.sensorFaults.map(JSONValue.string))),
             ("suspect_sensors", .array(device.suspectSensors.map(JSONValue.string))),
             ("online", device.online.map(JSONValue.bool) ?? .null)].json
        }
        let letters = recentDeadLetters.map { letter -> JSONValue in
            [("received_at", .number(letter.receivedAt)), ("topic", .string(letter.topic)), ("reason", .string(letter.reason)),
             ("detail", .string(letter.detail))].json
        }
        let uplink: JSONValue = upstream.map { upstream in
            [("connected", .bool(upstream.connected)), ("backlog_rows", .number(Double(upstream.backlogRows))),
             ("last_acked_seq", .number(Double(upstream.lastAckedSeq))), ("last_ack_at", upstream.lastAckAt.map(JSONValue.number) ?? .null)].json
        } ?? .null
        let models = models.map { model -> JSONValue in
            let install: JSONValue = model.lastInstall.map { install in
                [("model", .string(install.model)), ("version", .string(install.version)), ("result", .string(install.state)),
                 ("reason", .string(install.reason)), ("at", .number(install.at))].json
            } ?? .null
            return [("device_type", .string(model.deviceType)), ("name", .string(model.name)), ("version", .string(model.version)),
                    ("state", .string(model.state)), ("last_install", install)].json
        }
        let value: JSONValue = [
            ("database", .string(database)), ("database_bytes", .number(Double(databaseBytes))),
            ("counters", counters.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.number(Double($0.value))) }.json),
            ("devices", .array(devices)), ("recent_dead_letters", .array(letters)), ("upstream", uplink), ("models", .array(models)),
        ].json
        return value.serialized()
    }

    /// The status as text, for people.
    public func text() -> String {
        var lines: [String] = []
        lines.append("database  \(database)  \(ByteSize(bytes: databaseBytes))")
        lines.append("messages  \(counters["messages_stored", default: 0]) stored, \(counters["duplicates", default: 0]) duplicates dropped, \(devices.reduce(0) { $0 + $1.missing }) missing (seq gaps)")
        lines.append("readings  \(counters["rows_stored", default: 0]) rows, \(counters["samples_stored", default: 0]) samples, \(counters["rows_dropped_for_size", default: 0]) oldest rows deleted for the size bound")
        let reasons = counters.filter { $0.key.hasPrefix("dead_letters.") && $0.value > 0 }.sorted { $0.key < $1.key }
            .map { "\($0.key.dropFirst("dead_letters.".count)) \($0.value)" }
        lines.append("features  \(counters["feature_rows", default: 0]) windows, \(counters["late_samples", default: 0]) late samples dropped, "
                     + "\(counters["history_rows_dropped_for_size", default: 0] + counters["uploaded_rows_dropped_for_size", default: 0]) "
                     + "windows and predictions deleted for the size bound")
        lines.append("scored    \(counters["predictions", default: 0]) predictions")
        lines.append("labels    \(counters["maintenance_events", default: 0]) maintenance events (faults, repairs)")
        lines.append("refused   \(deadLetterTotal)\(reasons.isEmpty ? "" : ": " + reasons.joined(separator: ", "))")
        if let line = upstreamLine { lines.append(line) }
        lines += modelLines
        if !devices.isEmpty {
            lines.append("")
            lines += LiveView.table(["device", "type", "messages", "duplicates", "missing", "restarts", "last seq", "sensor faults",
                                     "online", "health"], devices.map {
                let faults = $0.sensorFaults + $0.suspectSensors
                return [$0.device, $0.type, "\($0.messages)", "\($0.duplicates)", "\($0.missing)", "\($0.restarts)", "\($0.highestSeq)",
                        faults.isEmpty ? "-" : faults.joined(separator: ","), $0.online.map { $0 ? "yes" : "NO" } ?? "-", $0.health ?? "-"]
            }, leftAligned: 2)
        }
        if !recentDeadLetters.isEmpty {
            lines.append("")
            lines.append("latest refusals:")
            for letter in recentDeadLetters {
                lines.append("  \(letter.topic)  \(letter.reason): \(letter.detail)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension AgentStatus {
    /// `upstream connected, backlog 120 rows, acked up to batch 41 (3 s ago)`, or nil when upload is off.
    var upstreamLine: String? {
        upstream.map { upstream in
            "upstream  \(upstream.connected ? "connected" : "DISCONNECTED"), backlog \(upstream.backlogRows) rows, "
                + (upstream.lastAckedSeq < 0 ? "nothing acknowledged yet"
                    : "acked up to batch \(upstream.lastAckedSeq)\(upstream.lastAckAt.map { " (\(Int(WallClock.now() - $0)) s ago)" } ?? "")")
        }
    }

    /// One line per device type's model: what runs and how its latest install went.
    var modelLines: [String] {
        models.map { model in
            let running = model.state == "running" ? "\(model.name) \(model.version)" : "no model"
            let last = model.lastInstall.map { "; last release \($0.model) \($0.version) \($0.state)\($0.reason.isEmpty ? "" : ": \($0.reason)")" } ?? ""
            return "model     \(model.deviceType): \(running)\(last)"
        }
    }
}

private extension Array where Element == (String, JSONValue) {
    /// The pairs as a JSON object, in order.
    var json: JSONValue { .object(map { (key: $0.0, value: $0.1) }) }
}
