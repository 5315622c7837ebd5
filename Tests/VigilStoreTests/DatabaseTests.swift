import Testing
import VigilStore
import VigilTestSupport

/// Each test gets a folder of its own, removed after it.
@Suite("SQLite layer")
final class DatabaseTests {
    let directory: TemporaryDirectory
    var folder: String { directory.path }

    init() throws {
        directory = try TemporaryDirectory("vigil-store")
    }

    deinit { directory.remove() }

    @Test func opensInWALWithNormalSync() throws {
        let database = try Database(path: folder + "/a.db")
        #expect(try database.scalar("PRAGMA journal_mode")?.string == "wal")
        #expect(try database.scalar("PRAGMA synchronous")?.int64 == 1)
        let strict = try Database(path: folder + "/b.db", synchronous: .full)
        #expect(try strict.scalar("PRAGMA synchronous")?.int64 == 2)
    }

    @Test func migratesOnceAndRecordsTheVersion() throws {
        let path = folder + "/m.db"
        let migrator = Migrator(steps: ["CREATE TABLE a(x INTEGER)", "CREATE TABLE b(y TEXT); INSERT INTO b VALUES ('v2')"])
        try migrator.migrate(Database(path: path))
        let database = try Database(path: path)
        #expect(try database.userVersion == 2)
        try migrator.migrate(database)
        #expect(try database.scalar("SELECT count(*) FROM b")?.int64 == 1)
    }

    @Test func failedMigrationLeavesThePreviousVersion() throws {
        let database = try Database(path: folder + "/f.db")
        let broken = Migrator(steps: ["CREATE TABLE a(x)", "CREATE TABLE c(z); CREATE TABLE a(x)"])
        #expect(throws: SQLiteError.self) { try broken.migrate(database) }
        #expect(try database.userVersion == 1)
        #expect(try database.rows("SELECT name FROM sqlite_master WHERE name = 'c'").isEmpty)
    }

    @Test func refusesADatabaseFromANewerVersion() throws {
        let database = try Database(path: folder + "/n.db")
        try database.execute("PRAGMA user_version = 7")
        #expect(throws: SQLiteError.self) { try Migrator(steps: ["CREATE TABLE a(x)"]).migrate(database) }
    }

    @Test func errorsCarrySQLiteCodeMessageAndStatement() throws {
        let database = try Database(path: folder + "/e.db")
        try database.execute("CREATE TABLE t(k TEXT PRIMARY KEY)")
        let insert = try database.prepare("INSERT INTO t(k) VALUES (?)")
        try insert.run(["x"])
        do {
            try insert.run(["x"])
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect(error.code == 1555) // SQLITE_CONSTRAINT_PRIMARYKEY
            #expect(error.message.contains("UNIQUE constraint failed: t.k"))
            #expect(error.context == "INSERT INTO t(k) VALUES (?)")
        }
        do {
            _ = try database.prepare("SELEC 1")
            Issue.record("bad SQL was accepted")
        } catch {
            #expect(error.primaryCode == 1)
            #expect(error.message.contains("syntax error"))
        }
    }

    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        let database = try Database(path: folder + "/t.db")
        try database.execute("CREATE TABLE t(v INTEGER)")
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try database.transaction {
                try database.execute("INSERT INTO t VALUES (1)")
                throw Stop()
            }
        }
        #expect(try database.scalar("SELECT count(*) FROM t")?.int64 == 0)
        try database.transaction { try database.execute("INSERT INTO t VALUES (2)") }
        #expect(try database.scalar("SELECT sum(v) FROM t")?.int64 == 2)
    }

    @Test func valuesRoundTripThroughPreparedStatements() throws {
        let database = try Database(path: folder + "/v.db")
        try database.execute("CREATE TABLE t(a INTEGER, b REAL, c TEXT, d BLOB, e)")
        try database.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)")
            .run([.integer(Int64.min), .real(0.1), .text("héllo"), .blob([0, 255, 7]), .null])
        let row = try #require(try database.rows("SELECT * FROM t").first)
        #expect(row == [.integer(Int64.min), .real(0.1), .text("héllo"), .blob([0, 255, 7]), .null])
    }

    @Test func readOnlyConnectionCannotWrite() throws {
        let path = folder + "/r.db"
        try Database(path: path).execute("CREATE TABLE t(v)")
        let reader = try Database(path: path, readOnly: true)
        #expect(throws: SQLiteError.self) { try reader.execute("INSERT INTO t VALUES (1)") }
        #expect(throws: SQLiteError.self) { try Database(path: folder + "/missing.db", readOnly: true) }
    }
}
