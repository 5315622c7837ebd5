import CSQLite

/// A failed SQLite call, with SQLite's own result code and message and the statement or step
/// that failed, e.g. `SQLite error 19 (UNIQUE constraint failed: series.device) in INSERT ...`.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// SQLite's extended result code (`SQLITE_FULL` is 13, `SQLITE_CORRUPT` 11).
    public var code: Int32
    /// SQLite's message for it.
    public var message: String
    /// The SQL or the operation that failed.
    public var context: String

    public init(code: Int32, message: String, context: String) {
        self.code = code
        self.message = message
        self.context = context
    }

    init(code: Int32, connection: OpaquePointer?, context: String) {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        self.init(code: code, message: message, context: context)
    }

    /// The primary result code, without the extended bits.
    public var primaryCode: Int32 { code & 0xFF }

    public var description: String {
        "SQLite error \(code) (\(message)) in \(context)"
    }
}
