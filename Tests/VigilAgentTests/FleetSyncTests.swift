#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilAgent
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilStore
import VigilTestSupport
import VigilTrainer

@Suite("Fleet sync: upload through outages and crashes", .serialized)
struct FleetSyncTests {
    /// The central broker goes away mid-stream and comes back: every feature window, event and
    /// prediction the agent stored arrives in the trainer's store exactly once.
    @Test func uplinkOutageDeliversEveryRowOnce() throws {
        let fleet = try FleetHarness()
        try writeBytes(fleet.edge.directory.file("models/overheat.vgm"), ScoringTests.bundle(signedBy: fleet.key))
        let ingest = try fleet.startIngest()
        let agent = try fleet.edge.startAgent()
        let publisher = try fleet.edge.publisher()
        let devices = ["m1", "m2", "m3"]
        try publishAll(publisher, FleetHarness.readings(devices: devices, seconds: 0..<100) + [FleetHarness.fault("m1", at: 50)])
        try fleet.waitUntilSynced()

        fleet.central.stop()
        try publishAll(publisher, FleetHarness.readings(devices: devices, seconds: 100..<300) + [FleetHarness.fault("m2", at: 250)])
        try fleet.edge.waitUntilIngested(900)
        #expect(try fleet.edge.integer("SELECT count(*) FROM outbox") > 0, "rows wait in the outbox while the uplink is down")
        let status = try AgentStatus.read(database: fleet.edge.database)
        #expect(status.upstream?.connected == false)
        #expect((status.upstream?.backlogRows ?? 0) > 0)

        try fleet.central.restart()
        try fleet.waitUntilSynced()
        agent.stop()
        // A restarted agent numbers on from where the trainer's acks left it.
        let restarted = try fleet.edge.startAgent()
        try publishAll(publisher, FleetHarness.readings(devices: devices, seconds: 300..<350))
        try fleet.edge.waitUntilIngested(1050)
        try fleet.waitUntilSynced()
        restarted.stop()
        publisher.stop()
        ingest.stop()
        let batches = try Database(path: fleet.store, readOnly: true).rows("SELECT seq FROM batches ORDER BY seq").map { $0[0].int64 ?? -1 }
        #expect(batches == Array(0..<Int64(batches.count)), "one batch per sequence, none skipped")
        let agentRows = try FleetHarness.rows(fleet.edge.database)
        #expect(agentRows.count > 150, "windows, events and predictions: \(agentRows.count)")
        #expect(try FleetHarness.rows(fleet.store) == agentRows)
        #expect(try fleet.edge.integer("SELECT count(*) FROM predictions") > 50)
        let after = try AgentStatus.read(database: fleet.edge.database)
        #expect(after.upstream?.backlogRows == 0)
        #expect(after.upstream?.connected == false, "a stopped agent is not connected")
        #expect((after.upstream?.lastAckedSeq ?? -1) >= 0)
        #expect(after.json().contains("\"upstream\""))
    }

    /// kill -9 of the agent while it uploads, and of `vigil-trainer ingest` while it stores:
    /// after restarts, the trainer holds every row once.
    @Test func killNineOfAgentAndTrainerLosesAndRepeatsNothing() throws {
        let fleet = try FleetHarness()
        let trainerLog = fleet.edge.directory.file("ingest.log")
        func startTrainer() throws -> ChildProcess {
            let process = try ChildProcess(buildProductsDirectory() + "/vigil-trainer",
                                           ["ingest", "--broker", fleet.central.url, "--store", fleet.store], log: trainerLog)
            guard eventually(timeout: 10, { process.output().contains("msg=subscribed") || process.hasExited }), !process.hasExited else {
                throw TestFailure("vigil-trainer ingest did not connect: \(process.output())")
            }
            return process
        }
        var trainer = try startTrainer()
        var agent = try fleet.edge.startAgentProcess()
        let publisher = try fleet.edge.publisher()
        let devices = (1...8).map { "m\($0)" }
        try publishAll(publisher, FleetHarness.readings(devices: devices, seconds: 0..<200))
        #expect(try eventually(timeout: 20) { try fleet.edge.integer("SELECT count(*) FROM upstream_batches") > 0 })
        agent.signal(SIGKILL)
        _ = agent.wait()
        try publishAll(publisher, FleetHarness.readings(devices: devices, seconds: 200..<400))
        agent = try fleet.edge.startAgentProcess()
        #expect(eventually(timeout: 20) { (try? Database(path: fleet.store, readOnly: true).scalar("SELECT count(*) FROM batches")?.int64) ?? 0 > 5 })
        trainer.signal(SIGKILL)
        _ = trainer.wait()
        try publishAll(publisher, FleetHarness.readings(devices: devices, seconds: 400..<600))
        trainer = try startTrainer()
        try fleet.waitUntilSynced()
        _ = agent.stop()
        _ = trainer.stop()
        publisher.stop()
        let agentRows = try FleetHarness.rows(fleet.edge.database)
        #expect(agentRows.count > 300)
        #expect(try FleetHarness.rows(fleet.store) == agentRows)
    }

    /// A database failure in the middle of a transaction (a trigger aborts one device's feature
    /// insert): the rollback leaves no feature row built from readings that were not stored.
    @Test func aFailedTransactionLeavesNoStaleFeatureRow() throws {
        let fleet = try FleetHarness()
        let agent = try fleet.edge.startAgent()
        let publisher = try fleet.edge.publisher()
        try publishAll(publisher, FleetHarness.readings(devices: ["m1", "m2"], seconds: 0..<25))
        try fleet.edge.waitUntilIngested(50)
        let writer = try Database(path: fleet.edge.database)
        try writer.execute("""
            CREATE TRIGGER injected_failure BEFORE INSERT ON features
            WHEN NEW.series IN (SELECT id FROM series WHERE device = 'm2')
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END
            """)
        // m1's readings and m2's window-closing reading share a transaction that fails.
        try publishAll(publisher, FleetHarness.readings(devices: ["m1", "m2"], seconds: 25..<31))
        #expect(eventually(timeout: 10) { fleet.edge.log.all.contains { $0.contains("injected failure") } })
        try writer.execute("DROP TRIGGER injected_failure")
        try publishAll(publisher, FleetHarness.readings(devices: ["m1", "m2"], seconds: 31..<60))
        #expect(try eventually(timeout: 10) { try fleet.edge.integer("SELECT max(seq) FROM readings") == 59 })
        agent.stop()
        publisher.stop()
        // Every window counts no more samples than the database holds for it.
        let stale = try fleet.edge.integer("""
            SELECT count(*) FROM features f WHERE f.sample_count > (
                SELECT count(*) FROM readings r WHERE r.series = f.series AND r.ts >= f.window_start AND r.ts < f.window_end)
            """)
        #expect(stale == 0)
        #expect(try fleet.edge.integer("SELECT count(*) FROM features") >= 8)
        #expect(try fleet.edge.integer("SELECT count(*) FROM outbox o LEFT JOIN features f ON f.id = o.row WHERE o.kind = 1 AND f.id IS NULL") == 0)
    }

    /// The uplink stays down while the disk bound is reached: raw readings go first; when only
    /// rows waiting for upload are left, the oldest of them go, counted and said loudly, the
    /// file and WAL stay within the bound, and what remains is uploaded once the uplink is back.
    @Test func aFullDiskWithTheUplinkDownDropsUnsentRowsLoudly() throws {
        let fleet = try FleetHarness()
        try fleet.configure(#""max_database_size": "1 MiB""#)
        fleet.central.stop()
        let agent = try fleet.edge.startAgent(waitForUpstream: false)
        let disk = DiskWatcher([fleet.edge.database, fleet.edge.database + "-wal"])
        let publisher = try fleet.edge.publisher()
        let count = 4_000
        try publishBlocks(publisher, count: count)
        // Deleting for size at every commit is slow work: about 17 s on an idle 2-core machine.
        try fleet.edge.waitUntilIngested(count, timeout: 90)
        let largest = disk.stop()
        #expect(largest <= 1 << 20, "file and WAL reached \(largest) bytes")
        #expect(try fleet.edge.counter("rows_dropped_for_size") > 0)
        let dropped = try fleet.edge.counter("unsent_rows_dropped_for_size")
        #expect(dropped > 0)
        #expect(fleet.edge.log.all.contains { $0.contains("level=error component=ingest msg=\"DATA LOSS") })
        #expect(try fleet.edge.integer("SELECT count(*) FROM features") + dropped == 4 * Int64(count),
                "every window was stored, and only the oldest unsent ones deleted")

        try fleet.central.restart()
        let ingest = try fleet.startIngest()
        try fleet.waitUntilSynced()
        agent.stop()
        publisher.stop()
        ingest.stop()
        #expect(try FleetHarness.rows(fleet.store) == FleetHarness.rows(fleet.edge.database))
    }

    /// A new database under an agent id the trainer already knows starts an epoch of its own:
    /// its batches, numbered from 0 again, are not taken for repeats of the old database's.
    @Test func aNewDatabaseUnderAKnownAgentIdStartsItsOwnEpoch() throws {
        let fleet = try FleetHarness()
        let ingest = try fleet.startIngest()
        var agent = try fleet.edge.startAgent()
        let publisher = try fleet.edge.publisher()
        try publishAll(publisher, FleetHarness.readings(devices: ["m1", "m2"], seconds: 0..<100))
        try fleet.edge.waitUntilIngested(200)
        try fleet.waitUntilSynced()
        agent.stop()
        let first = try FleetHarness.rows(fleet.edge.database)
        for suffix in ["", "-wal", "-shm"] { unlink(fleet.edge.database + suffix) }
        agent = try fleet.edge.startAgent()
        try publishAll(publisher, FleetHarness.readings(devices: ["m3"], seconds: 0..<100))
        try fleet.edge.waitUntilIngested(100)
        let second = try FleetHarness.rows(fleet.edge.database)
        #expect(try eventually(timeout: 30) { (try? FleetHarness.rows(fleet.store)) == (first + second).sorted() })
        agent.stop()
        publisher.stop()
        ingest.stop()
        let epochs = try Database(path: fleet.store, readOnly: true).rows("SELECT count(DISTINCT epoch), min(seq) FROM batches")
        #expect(epochs.first?[0].int64 == 2)
    }

    /// Raw readings go upstream as each device type's `raw_readings` says: every second message
    /// of the motors, and of the fans only those around an alarm (5 s either side of a window
    /// the model calls hot); the rest stay on the edge.
    @Test func rawReadingsGoUpstreamSampledOrAroundAlarms() throws {
        let fleet = try FleetHarness()
        try fleet.configure(upstream: #", "raw_readings": {"motor": {"every": 2}, "fan": {"around_alarms": 5}}"#)
        try writeFile(fleet.edge.directory.file("devices/fan.json"), """
            {"type": "fan", "topics": ["plant/fan/{device}/telemetry"], "timestamp_unit": "s",
             "sensors": [{"name": "temperature", "unit": "degC", "kind": "value", "min": -40, "max": 150}],
             "features": [{"sensor": "temperature", "window": {"seconds": 10, "hop_seconds": 10}, "features": ["mean", "max"]}]}
            """)
        let fanModel = ModelInstallTests.bundle(signedBy: fleet.key, version: "1.0.0", deviceType: "fan")
        try writeBytes(fleet.edge.directory.file("models/fan-overheat.vgm"), fanModel)
        let ingest = try fleet.startIngest()
        let agent = try fleet.edge.startAgent()
        let publisher = try fleet.edge.publisher()
        let fans = (0..<60).map { second in
            ("plant/fan/f1/telemetry", #"{"seq": \#(second), "ts": \#(1750000000 + second), "temperature": \#(40 + second % 20)}"#)
        }
        try publishAll(publisher, FleetHarness.readings(devices: ["m1"], seconds: 0..<40) + fans)
        try fleet.edge.waitUntilIngested(100)
        try fleet.waitUntilSynced()
        agent.stop()
        publisher.stop()
        ingest.stop()
        let store = try Database(path: fleet.store, readOnly: true)
        func uploaded(_ device: String) throws -> [Int64] {
            try store.rows("SELECT r.seq FROM readings r JOIN series s ON s.id = r.series WHERE s.device = ? ORDER BY r.seq", [.text(device)])
                .map { $0[0].int64 ?? -1 }
        }
        #expect(try uploaded("m1") == Array(stride(from: 0, to: 40, by: 2)))
        let expected = try fleet.edge.query("""
            SELECT r.seq FROM readings r JOIN series s ON s.id = r.series WHERE s.device = 'f1' AND EXISTS (
                SELECT 1 FROM predictions p WHERE p.device = 'f1' AND p.predicted = 'hot' AND r.ts > p.window_end - 5 AND r.ts <= p.window_end + 5)
            ORDER BY r.seq
            """).map { $0[0].int64 ?? -1 }
        #expect(!expected.isEmpty && expected.count < 60)
        #expect(try uploaded("f1") == expected)
        let values = try store.rows("SELECT r.value FROM readings r JOIN series s ON s.id = r.series WHERE s.device = 'm1' AND r.seq = 4")
        #expect(values.first?[0].double == 44)
    }

    /// Blocks of samples make large batches: the agent cuts a batch before its samples pass
    /// 8 MiB, so a backlog of 2,500 blocks of 1,024 samples (10 MiB, 12,500 outbox rows with
    /// their feature windows) goes in two batches although 20,000 rows would fit one.
    @Test func largeBlocksAreSplitAcrossBatches() throws {
        let fleet = try FleetHarness()
        try fleet.configure(upstream: #", "raw_readings": {"motor": {"every": 1}}"#, batchRows: 20_000)
        fleet.central.stop()
        let agent = try fleet.edge.startAgent(waitForUpstream: false)
        let publisher = try fleet.edge.publisher()
        try publishBlocks(publisher, count: 2_500)
        try fleet.edge.waitUntilIngested(2_500)
        try fleet.central.restart()
        let ingest = try fleet.startIngest()
        try fleet.waitUntilSynced()
        agent.stop()
        publisher.stop()
        ingest.stop()
        let store = try Database(path: fleet.store, readOnly: true)
        #expect(try store.scalar("SELECT count(*) FROM readings")?.int64 == 2_500)
        #expect(try store.scalar("SELECT sum(length(samples)) FROM readings")?.int64 == 2_500 * 4096)
        let sizes = try store.rows("SELECT rows FROM batches ORDER BY seq").map { $0[0].int64 ?? 0 }
        #expect(sizes.count == 2, "\(sizes)")
        #expect(sizes.reduce(0, +) == 12_500)
    }
}
