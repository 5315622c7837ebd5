import CSQLite

/// `SQLITE_TRANSIENT` is a macro over a cast that Swift does not import: SQLite copies the value.
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement, owned by the `Database` that made it and finalized with it. Prepare
/// once, then bind, step and reset for every row: the hot path never parses SQL again.
public final class Statement {
    let handle: OpaquePointer
    /// The SQL it was prepared from, for error messages.
    public let sql: String
    private let database: Database

    init(database: Database, sql: String) throws(SQLiteError) {
        var handle: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard rc == SQLITE_OK, let handle else {
            throw SQLiteError(code: rc, connection: database.handle, context: sql)
        }
        self.handle = handle
        self.sql = sql
        self.database = database
    }

    deinit {
        sqlite3_finalize(handle)
    }

    // MARK: Binding (1-based, as in SQLite)

    @inline(__always)
    public func bind(_ value: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, value)
    }

    @inline(__always)
    public func bind(_ value: Double, at index: Int32) {
        sqlite3_bind_double(handle, index, value)
    }

    public func bind(_ value: String, at index: Int32) {
        sqlite3_bind_text(handle, index, value, -1, SQLITE_TRANSIENT)
    }

    /// Binds bytes as a blob; SQLite copies them.
    public func bindBlob(_ bytes: UnsafeRawBufferPointer, at index: Int32) {
        sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), SQLITE_TRANSIENT)
    }

    public func bindNull(at index: Int32) {
        sqlite3_bind_null(handle, index)
    }

    public func bind(_ value: SQLValue, at index: Int32) {
        switch value {
        case .null: bindNull(at: index)
        case .integer(let value): bind(value, at: index)
        case .real(let value): bind(value, at: index)
        case .text(let value): bind(value, at: index)
        case .blob(let bytes): bytes.withUnsafeBytes { bindBlob($0, at: index) }
        }
    }

    /// Binds `values` to parameters 1, 2, ...
    public func bind(_ values: [SQLValue]) {
        for (offset, value) in values.enumerated() { bind(value, at: Int32(offset + 1)) }
    }

    // MARK: Running

    /// Runs one step. Returns true when a row is ready to read, false when done.
    @inline(__always)
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        sqlite3_reset(handle)
        throw SQLiteError(code: rc, connection: database.handle, context: sql)
    }

    /// Makes the statement ready to run again; bindings stay unless rebound.
    @inline(__always)
    public func reset() {
        sqlite3_reset(handle)
    }

    /// Runs the statement to completion with `values` bound, then resets it.
    public func run(_ values: [SQLValue] = []) throws(SQLiteError) {
        bind(values)
        defer { reset() }
        while try step() {}
    }

    /// Runs the statement with `values` bound and returns every row.
    public func rows(_ values: [SQLValue] = []) throws(SQLiteError) -> [[SQLValue]] {
        bind(values)
        defer { reset() }
        var rows: [[SQLValue]] = []
        while try step() {
            rows.append((0..<sqlite3_column_count(handle)).map { column($0) })
        }
        return rows
    }

    // MARK: Reading the current row (0-based, as in SQLite)

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    public func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: bytes)
    }

    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    public func column(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: .integer(int64(index))
        case SQLITE_FLOAT: .real(double(index))
        case SQLITE_TEXT: .text(text(index))
        case SQLITE_BLOB: .blob(blob(index))
        default: .null
        }
    }
}
