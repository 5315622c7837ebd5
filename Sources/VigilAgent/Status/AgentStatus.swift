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
    }

    /// A recent refusal.
    public struct DeadLetter: Sendable {
        public var receivedAt: Double
        public var topic: String
        public var reason: String
        public var detail: String
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
        let devices = try database.rows("""
            SELECT device, device_type, messages, duplicates, missing, restarts, highest_seq, last_seen
            FROM devices ORDER BY device
            """).map { row in
            Device(device: row[0].string ?? "", type: row[1].string ?? "", messages: row[2].int64 ?? 0,
                   duplicates: row[3].int64 ?? 0, missing: row[4].int64 ?? 0, restarts: row[5].int64 ?? 0,
                   highestSeq: row[6].int64 ?? -1, lastSeen: row[7].double ?? 0, health: nil)
        }
        var health: [String: String] = [:]
        if try database.userVersion >= 4 {
            for row in try database.rows("""
                SELECT device, model, predicted FROM predictions WHERE id IN (SELECT max(id) FROM predictions GROUP BY device, model)
                ORDER BY device, model
                """) {
                let device = row[0].string ?? ""
                let state = "\(row[1].string ?? ""): \(row[2].string ?? "")"
                health[device] = health[device].map { $0 + ", " + state } ?? state
            }
        }
        let letters = try database.rows(
            "SELECT received_at, topic, reason, detail FROM dead_letters ORDER BY id DESC LIMIT 5").map { row in
            DeadLetter(receivedAt: row[0].double ?? 0, topic: row[1].string ?? "", reason: row[2].string ?? "",
                       detail: row[3].string ?? "")
        }
        return AgentStatus(database: path, databaseBytes: fileSize(path) + fileSize(path + "-wal"),
                           counters: counters, devices: devices.map { device in
                               var device = device
                               device.health = health[device.device]
                               return device
                           }, recentDeadLetters: letters)
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
             ("last_seen", .number(device.lastSeen)), ("health", device.health.map(JSONValue.string) ?? .null)].json
        }
        let letters = recentDeadLetters.map { letter -> JSONValue in
            [("received_at", .number(letter.receivedAt)), ("topic", .string(letter.topic)), ("reason", .string(letter.reason)),
             ("detail", .string(letter.detail))].json
        }
        let value: JSONValue = [
            ("database", .string(database)), ("database_bytes", .number(Double(databaseBytes))),
            ("counters", counters.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.number(Double($0.value))) }.json),
            ("devices", .array(devices)), ("recent_dead_letters", .array(letters)),
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
        lines.append("features  \(counters["feature_rows", default: 0]) windows, \(counters["late_samples", default: 0]) late samples dropped")
        lines.append("scored    \(counters["predictions", default: 0]) predictions")
        lines.append("labels    \(counters["maintenance_events", default: 0]) maintenance events (faults, repairs)")
        lines.append("refused   \(deadLetterTotal)\(reasons.isEmpty ? "" : ": " + reasons.joined(separator: ", "))")
        if !devices.isEmpty {
            lines.append("")
            lines += LiveView.table(["device", "type", "messages", "duplicates", "missing", "restarts", "last seq", "health"], devices.map {
                [$0.device, $0.type, "\($0.messages)", "\($0.duplicates)", "\($0.missing)", "\($0.restarts)", "\($0.highestSeq)",
                 $0.health ?? "-"]
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

private extension Array where Element == (String, JSONValue) {
    /// The pairs as a JSON object, in order.
    var json: JSONValue { .object(map { (key: $0.0, value: $0.1) }) }
}
