import CSQLite

/// One SQLite connection. Not thread-safe: a connection belongs to one thread at a time (the
/// agent's writer owns its own; `status` opens another, read-only). WAL mode lets them coexist.
public final class Database: @unchecked Sendable {
    /// How hard SQLite works to make a commit survive power loss.
    public enum Synchronous: String, Sendable, CaseIterable {
        /// A commit survives a crash of the process; the last commits may be lost on power loss.
        case normal
        /// A commit survives power loss too (an fsync per commit).
        case full
        /// A commit is durable after an fsync of the WAL and the directory.
        case extra
    }

    let handle: OpaquePointer
    /// The file path, as opened.
    public let path: String

    /// Process-wide settings, made once before the first connection opens.
    private static let configured: Bool = {
        _ = vigil_sqlite3_disable_memory_statistics()
        return true
    }()

    /// Opens (and creates, unless `readOnly`) the database at `path`. A writable connection is
    /// switched to WAL with the given `synchronous` level; `pageSize` is the page size of a
    /// database this creates (an existing one keeps its own).
    public init(path: String, readOnly: Bool = false, synchronous: Synchronous = .normal, pageSize: Int? = nil) throws(SQLiteError) {
        precondition(Self.configured)
        var handle: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let error = SQLiteError(code: rc, connection: handle, context: "opening \(path)")
            sqlite3_close_v2(handle)
            throw error
        }
        self.handle = handle
        self.path = path
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, 5_000)
        if !readOnly {
            // Only an empty database takes a page size, and only before it turns to WAL.
            if let pageSize { try execute("PRAGMA page_size=\(pageSize)") }
            try execute("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=\(synchronous.rawValue.uppercased())")
            // Keep the WAL file from staying large after a burst.
            try execute("PRAGMA journal_size_limit=\(64 << 20)")
        }
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs one or more SQL statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw SQLiteError(code: rc, message: text, context: sql)
        }
    }

    /// Prepares a statement to run many times.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// Runs `sql` with `values` bound and returns all rows: for schema, status and tests.
    public func rows(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> [[SQLValue]] {
        try prepare(sql).rows(values)
    }

    /// The first column of the first row, or nil.
    public func scalar(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> SQLValue? {
        try rows(sql, values).first?.first
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Whether a transaction is open on this connection.
    public var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// The rowid of the last row inserted on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// `PRAGMA user_version`: the schema version the migrations have reached.
    public var userVersion: Int {
        get throws(SQLiteError) { Int(try scalar("PRAGMA user_version")?.int64 ?? 0) }
    }

    /// Bytes the database's pages hold, not counting free pages SQLite will reuse.
    public func usedBytes() throws(SQLiteError) -> Int64 {
        let pages = try scalar("PRAGMA page_count")?.int64 ?? 0
        let free = try scalar("PRAGMA freelist_count")?.int64 ?? 0
        let size = try scalar("PRAGMA page_size")?.int64 ?? 4096
        return (pages - free) * size
    }
}
