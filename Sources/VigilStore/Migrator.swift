/// Brings a database's schema up to date, one numbered step at a time, recording the version
/// reached in `PRAGMA user_version`. Each step runs in its own transaction, so a failed
/// migration leaves the database at the previous version, never half-way.
public struct Migrator: Sendable {
    /// One schema step: the SQL that takes version `index` to `index + 1`.
    public let steps: [String]

    public init(steps: [String]) {
        self.steps = steps
    }

    /// Applies the steps the database has not had yet. Refuses a database from a newer Vigil.
    public func migrate(_ database: Database) throws {
        let current = try database.userVersion
        guard current <= steps.count else {
            throw SQLiteError(code: 0, message: "schema version \(current) is newer than this program knows (\(steps.count))",
                              context: "migrating \(database.path)")
        }
        for version in current..<steps.count {
            try database.transaction {
                try database.execute(steps[version])
                try database.execute("PRAGMA user_version = \(version + 1)")
            }
        }
    }
}
