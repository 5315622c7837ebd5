#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilAgent
import VigilCore
import VigilMQTT
import VigilStore
import VigilTestSupport

@Suite("Agent ingest against a real broker and SQLite file")
struct IngestTests {
    @Test func everyPayloadKindRoundTrips() throws {
        let harness = try AgentHarness()
        let agent = try harness.startAgent()
        let publisher = try harness.publisher()
        let samples = (0..<256).map { Double($0) * 0.0123 - 1.5 }
        try publishAll(publisher, [
            ("plant/motor/m1/temperature", #"{"seq": 0, "ts": 1750000000.125, "value": 61.25}"#),
            ("plant/motor/m1/vibration", #"{"seq": 1, "ts": 1750000000.5, "rate_hz": 4096, "values": \#(samples)}"#),
            ("plant/motor/m1/vibration", #"{"seq": 2, "ts": 1750000001.5, "values": [1.0, -2.0]}"#),
            ("plant/fan/f1/telemetry", #"{"seq": 40, "ts": 1750000002250, "temperature": 35.5, "current": 4.125, "firmware": "1.2"}"#),
        ])
        try harness.waitUntilIngested(4)
        agent.stop()
        publisher.stop()

        let values = try harness.query("""
            SELECT s.device, s.sensor, s.device_type, s.unit, r.seq, r.ts, r.value FROM readings r JOIN series s ON s.id = r.series
            WHERE r.value IS NOT NULL ORDER BY r.id
            """)
        #expect(values == [
            ["m1", "temperature", "motor", "degC", 0, .real(1750000000.125), .real(61.25)],
            ["f1", "temperature", "fan", "degC", 40, .real(1750000002.25), .real(35.5)],
            ["f1", "current", "fan", "A", 40, .real(1750000002.25), .real(4.125)],
        ])
        let blocks = try harness.query("SELECT seq, ts, rate_hz, samples FROM readings WHERE samples IS NOT NULL ORDER BY seq")
        #expect(blocks.count == 2)
        #expect(blocks[0][0] == 1 && blocks[0][1] == .real(1750000000.5) && blocks[0][2] == .real(4096))
        #expect(blocks[1][2] == .real(1024), "a block without rate_hz takes the profile's")
        guard case .blob(let bytes) = blocks[0][3] else { Issue.record("no sample blob"); return }
        let stored = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(stored == samples.map { Float($0) })
        #expect(try harness.counter("messages_stored") == 4)
        #expect(try harness.counter("samples_stored") == 256 + 2 + 1 + 2)
    }

    /// The same vibration as JSON blocks from one motor and binary blocks from another: stored
    /// alike, and the same feature windows come of them; a bad binary block is refused.
    @Test func binaryBlocksAreStoredAsTheirJSONTwins() throws {
        let harness = try AgentHarness()
        let agent = try harness.startAgent()
        let publisher = try harness.publisher()
        var random = SeededRandom(seed: 4)
        for seq in 0..<8 {
            // Values float32 holds exactly, so JSON and binary carry the same numbers.
            let samples = (0..<256).map { _ in Double(Float(random.gaussian() * 3)) }
            let ts = 1_750_000_000 + Double(seq) * 0.25
            try publisher.publish(topic: "plant/motor/json/vibration",
                                  text: #"{"seq": \#(seq), "ts": \#(ts), "values": [\#(samples.map { "\($0)" }.joined(separator: ","))]}"#)
            try publisher.publish(topic: "plant/motor/binary/vibration",
                                  payload: BinaryBlock.encode(seq: UInt64(seq), timestamp: ts, rateHz: 0, samples: samples))
        }
        try publisher.publish(topic: "plant/motor/binary/vibration", payload: Array(BinaryBlock.encode(seq: 9, timestamp: 1, rateHz: 0, samples: [1]).prefix(27)))
        #expect(publisher.waitForPublished(timeout: 10))
        try harness.waitUntilIngested(17)
        agent.stop()
        publisher.stop()
        // Under the default bound, blocks fill 16 KiB pages (a 4 KiB page wastes a quarter on them).
        #expect(try harness.integer("PRAGMA page_size") == 16_384)

        func stored(_ device: String, _ sql: String) throws -> [[SQLValue]] {
            try harness.query(sql.replacing("DEVICE", with: device))
        }
        let blocks = "SELECT r.seq, r.ts, r.rate_hz, r.samples FROM readings r JOIN series s ON s.id = r.series WHERE s.device = 'DEVICE' ORDER BY r.seq"
        let windows = "SELECT f.window_start, f.window_end, f.vector FROM features f JOIN series s ON s.id = f.series WHERE s.device = 'DEVICE' ORDER BY f.id"
        #expect(try stored("binary", blocks).count == 8)
        #expect(try stored("binary", blocks) == stored("json", blocks))
        #expect(try stored("binary", windows).count == 8)
        #expect(try stored("binary", windows) == stored("json", windows))
        #expect(try harness.counter("dead_letters.invalid_block") == 1)
    }

    @Test func badInputIsRefusedWithItsReasonAndTheStreamGoesOn() throws {
        let harness = try AgentHarness()
        // Subscribe wider than the profiles, so unknown topics reach the agent.
        try harness.writeConfiguration(#""topics": ["plant/#"], "max_payload_size": "2 KiB""#)
        let agent = try harness.startAgent()
        let publisher = try harness.publisher()
        let bad: [(String, String, DeadLetterReason)] = [
            ("plant/motor/m1/temperature", #"{"seq": 100, "ts": 1750000000, "value": 6"#, .invalidJSON),
            ("plant/motor/m1/temperature", "\u{1}\u{2}binary", .invalidJSON),
            ("plant/motor/m1/temperature", #"{"seq": 100, "ts": 1750000000, "value": "hot"}"#, .wrongType),
            ("plant/motor/m1/temperature", #"{"seq": 100, "ts": 1750000000}"#, .missingField),
            ("plant/motor/m1/temperature", #"{"seq": 100, "ts": 1750000000, "value": NaN}"#, .nonFinite),
            ("plant/motor/m1/temperature", #"{"seq": 100, "ts": 1750000000, "value": 1e400}"#, .nonFinite),
            ("plant/motor/m1/temperature", #"{"seq": 100, "ts": 1750000000, "value": 999}"#, .outOfRange),
            ("plant/motor/m1/vibration", #"{"seq": 100, "ts": 1750000000, "values": [0, 51]}"#, .outOfRange),
            ("plant/motor/m1/temperature", #"{"seq": 100, "ts": 1750000000, "value": 1, "pad": "\#(String(repeating: "x", count: 3000))"}"#, .oversized),
            ("plant/unknown/m1", #"{"seq": 100, "ts": 1750000000, "value": 1}"#, .unknownTopic),
            ("plant/motor/m1/rpm", #"{"seq": 100, "ts": 1750000000, "value": 1}"#, .unknownSensor),
            ("plant/motor/m1/vibration", #"{"seq": 100, "ts": 1750000000, "value": 1}"#, .wrongKind),
        ]
        var messages: [(topic: String, payload: String)] = []
        for (index, item) in bad.enumerated() {
            messages.append(("plant/motor/m1/temperature", #"{"seq": \#(index), "ts": \#(1750000000 + index), "value": \#(index)}"#))
            messages.append((item.0, item.1))
        }
        messages.append(("plant/motor/m1/temperature", #"{"seq": \#(bad.count), "ts": 1750009999, "value": 1}"#))
        try publishAll(publisher, messages)
        try harness.waitUntilIngested(messages.count)
        agent.stop()
        publisher.stop()

        // Every good reading around the bad ones is stored.
        #expect(try harness.query("SELECT seq FROM readings ORDER BY seq").map { $0[0] }
                == (0...Int64(bad.count)).map { .integer($0) })
        let letters = try harness.query("SELECT topic, reason, detail, payload_size, length(payload_prefix) FROM dead_letters ORDER BY id")
        #expect(letters.map { $0[1].string } == bad.map { $0.2.rawValue })
        for (letter, item) in zip(letters, bad) {
            #expect(letter[0].string == item.0)
            #expect(!(letter[2].string ?? "").isEmpty)
            #expect(letter[3].int64 == Int64(item.1.utf8.count))
            #expect(letter[4].int64 == Int64(min(item.1.utf8.count, MessageInbox.oversizedPrefix)))
        }
        for reason in Set(bad.map(\.2)) {
            #expect(try harness.counter("dead_letters.\(reason.rawValue)") == Int64(bad.filter { $0.2 == reason }.count))
        }
        // The status command shows them.
        let status = try AgentStatus.read(database: harness.database)
        #expect(status.deadLetterTotal == Int64(bad.count))
        #expect(status.text().contains("out_of_range 2"))
    }

    @Test func duplicatesAreStoredOnceAndGapsAndRestartsCounted() throws {
        let harness = try AgentHarness()
        let agent = try harness.startAgent()
        let publisher = try harness.publisher()
        func reading(_ seq: Int, ts: Double) -> (topic: String, payload: String) {
            ("plant/motor/m7/temperature", #"{"seq": \#(seq), "ts": \#(ts), "value": 20}"#)
        }
        try publishAll(publisher, [
            reading(0, ts: 100), reading(1, ts: 101), reading(1, ts: 101),  // replayed: a duplicate
            reading(2, ts: 102), reading(6, ts: 106),                        // 3, 4, 5 missing
            reading(4, ts: 104),                                             // late: fills one gap
            reading(2, ts: 102),                                             // a late duplicate
            reading(0, ts: 500), reading(1, ts: 501), reading(3, ts: 503),   // rebooted: new count, 2 missing
        ])
        try harness.waitUntilIngested(10)
        agent.stop()
        publisher.stop()
        let device = try #require(try AgentStatus.read(database: harness.database).devices.first)
        #expect(device.messages == 8)
        #expect(device.duplicates == 2)
        #expect(device.missing == 3)   // 3 and 5 before the reboot, 2 after
        #expect(device.restarts == 1)
        #expect(try harness.integer("SELECT count(*) FROM readings") == 8)
        #expect(try harness.integer("SELECT count(*) FROM (SELECT DISTINCT series, seq, ts FROM readings)") == 8)
    }

    @Test func stateSurvivesAnAgentRestart() throws {
        let harness = try AgentHarness()
        let publisher = try harness.publisher()
        var agent = try harness.startAgent()
        try publishAll(publisher, (0..<10).map { ("plant/fan/f2/telemetry", #"{"seq": \#($0), "ts": \#(1750000000000 + $0), "current": 1}"#) })
        try harness.waitUntilIngested(10)
        agent.stop()
        agent = try harness.startAgent()
        // Replays of stored messages are recognised after the restart; the gap 10..14 is counted.
        try publishAll(publisher, (5..<20).filter { $0 < 10 || $0 >= 15 }
            .map { ("plant/fan/f2/telemetry", #"{"seq": \#($0), "ts": \#(1750000000000 + $0), "current": 1}"#) })
        try harness.waitUntilIngested(20)
        agent.stop()
        publisher.stop()
        let device = try #require(try AgentStatus.read(database: harness.database).devices.first)
        #expect(device.messages == 15)
        #expect(device.duplicates == 5)
        #expect(device.missing == 5)
    }

    /// The bound is the disk the user gives: the file and its WAL together stay within it
    /// while the agent runs, not only after it stops.
    @Test func databaseStaysUnderItsSizeBound() throws {
        let harness = try AgentHarness()
        try harness.writeConfiguration(#""max_database_size": "2 MiB""#)
        let agent = try harness.startAgent()
        let disk = DiskWatcher([harness.database, harness.database + "-wal"])
        let publisher = try harness.publisher()
        let count = 3_000  // 3,000 blocks of 4 KiB: 12 MiB of samples into a 2 MiB bound
        try publishBlocks(publisher, count: count)
        try harness.waitUntilIngested(count)
        let largest = disk.stop()
        agent.stop()
        publisher.stop()
        #expect(largest <= 2 << 20, "file and WAL reached \(largest) bytes (file \(disk.largestOf[0]), WAL \(disk.largestOf[1]))")
        let dropped = try harness.counter("rows_dropped_for_size")
        let kept = try harness.integer("SELECT count(*) FROM readings")
        #expect(dropped > 0)
        #expect(dropped + kept == Int64(count), "every message was stored, then only the oldest deleted")
        #expect(try harness.integer("SELECT max(seq) FROM readings") == Int64(count - 1))
        #expect(try harness.integer("SELECT min(seq) FROM readings") == dropped)
        // A bound of a few MiB is kept to the page: small pages there.
        #expect(try harness.integer("PRAGMA page_size") == 4_096)
    }

    /// Without upload, feature windows that outgrow the bound once the raw readings are gone go
    /// next, oldest first and counted: the bound holds even then (it did not before: 8 MiB grew
    /// to 28.6 MiB under windows every 32 samples).
    @Test func databaseStaysUnderItsBoundWhenFeatureWindowsOutgrowIt() throws {
        let harness = try AgentHarness()
        try writeFile(harness.directory.file("devices/dense.json"), """
            {"type": "dense", "topics": ["plant/dense/{device}/{sensor}"], "timestamp_unit": "s",
             "sensors": [{"name": "vibration", "unit": "g", "kind": "block", "rate_hz": 1024, "min": -50, "max": 50}],
             "features": [{"sensor": "vibration", "window": {"size": 64, "hop": 4},
                           "features": ["mean", "std", "rms", "peak", "skewness", "kurtosis", "crest_factor"]}]}
            """)
        try harness.writeConfiguration(#""max_database_size": "2 MiB""#)
        let agent = try harness.startAgent()
        let disk = DiskWatcher([harness.database, harness.database + "-wal"])
        let publisher = try harness.publisher()
        // 256 windows of 7 features a block: about 6 times the block's own 4 KiB.
        let block = (0..<1024).map { String(Double($0 % 89) / 10 - 4) }.joined(separator: ",")
        let count = 600
        for start in stride(from: 0, to: count, by: 100) {
            try publishAll(publisher, (start..<(start + 100)).map {
                ("plant/dense/d1/vibration", #"{"seq": \#($0), "ts": \#(1750000000 + $0), "rate_hz": 1024, "values": [\#(block)]}"#)
            })
        }
        try harness.waitUntilIngested(count)
        let largest = disk.stop()
        agent.stop()
        publisher.stop()
        #expect(largest <= 2 << 20, "file and WAL reached \(largest) bytes")
        #expect(try harness.counter("messages_stored") == Int64(count))
        let dropped = try harness.counter("history_rows_dropped_for_size")
        let kept = try harness.integer("SELECT count(*) FROM features")
        #expect(dropped > 0)
        #expect(dropped + kept == Int64(count) * 256 - 15, "every window was stored, then only the oldest deleted")
        #expect(try harness.integer("SELECT CAST(max(window_end) AS INTEGER) FROM features") == 1750000000 + Int64(count - 1))
    }
}

@Suite("Agent feature windows")
struct FeatureIngestTests {
    /// Feature rows are computed from the stored readings by the same engine, and committed with
    /// them; duplicates feed no window.
    @Test func featureWindowsAreStoredWithTheReadings() throws {
        let harness = try AgentHarness()
        let agent = try harness.startAgent()
        let publisher = try harness.publisher()
        let samples = (0..<1024).map { index -> Double in
            let phase = 2 * Double.pi * 128 * Double(index) / 1024
            return (0.5 * sin(phase) * 100_000).rounded() / 100_000
        }
        let block = #"{"seq": 0, "ts": 1750000000, "rate_hz": 1024, "values": \#(samples)}"#
        var messages: [(topic: String, payload: String)] = [("plant/motor/m1/vibration", block), ("plant/motor/m1/vibration", block)]
        for second in 0..<25 {
            messages.append(("plant/motor/m1/temperature", #"{"seq": \#(second + 1), "ts": \#(1750000000 + second), "value": \#(40 + second)}"#))
        }
        try publishAll(publisher, messages)
        try harness.waitUntilIngested(messages.count)
        agent.stop()
        publisher.stop()

        let rows = try harness.query("""
            SELECT fs.sensor, fs.window_kind, fs.names, f.window_start, f.window_end, f.sample_count, f.vector
            FROM features f JOIN feature_sets fs ON fs.id = f.feature_set ORDER BY f.id
            """)
        let vibration = rows.filter { $0[0] == "vibration" }
        #expect(vibration.count == 4, "1024 samples in windows of 256, the duplicate block not counted")
        #expect(vibration.first?[2] == #"["rms","kurtosis","dominant_frequency"]"#)
        let vector = try #require(vibration.first.flatMap { row -> [Double]? in
            guard case .blob(let bytes) = row[6] else { return nil }
            return bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        })
        #expect(abs(vector[0] - 0.5 / 2.squareRoot()) < 1e-4)
        #expect(vector[2] == 128)
        let temperature = rows.filter { $0[0] == "temperature" }
        // Windows [1749999990, 1750000000) is empty; [1750000000, 1750000010) and the next close.
        #expect(temperature.map { $0[4] } == [.real(1750000010), .real(1750000020)])
        guard case .blob(let bytes) = temperature.first?[6] else { Issue.record("no vector"); return }
        #expect(bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) } == [10, 44.5, 49])
        #expect(try harness.counter("feature_rows") == 6)
    }

    /// A repair restores the machine: the window open at the repair and the partial one after it
    /// are not stored, so no window mixes readings from before and after it; a reading from
    /// before the repair that arrives after it feeds no window.
    @Test func aRepairRestartsTheDevicesWindows() throws {
        let harness = try AgentHarness()
        let agent = try harness.startAgent()
        let publisher = try harness.publisher()
        func reading(_ seq: Int, _ time: Double, _ value: Int) -> (topic: String, payload: String) {
            ("plant/motor/m1/temperature", #"{"seq": \#(seq), "ts": \#(1750000000 + time), "value": \#(value)}"#)
        }
        var messages = (0..<15).map { reading($0, Double($0), 100) }
        messages.append(("vigil/maintenance/m1", #"{"kind": "repair", "ts": 1750000015}"#))
        messages += (15..<35).map { reading($0, Double($0), 40) }
        messages.append(reading(1000, 14.5, 100))
        try publishAll(publisher, messages)
        try harness.waitUntilIngested(messages.count - 1)  // the readings; the repair is a label
        #expect(try harness.counter("maintenance_events") == 1)
        agent.stop()
        publisher.stop()

        let windows = try harness.query("""
            SELECT f.window_start, f.vector FROM features f JOIN feature_sets fs ON fs.id = f.feature_set
            WHERE fs.sensor = 'temperature' ORDER BY f.window_end
            """)
        #expect(windows.map { $0[0] } == [.real(1750000000), .real(1750000020)], "\(windows.map { $0[0] })")
        let vectors = windows.map { row -> [Double] in
            guard case .blob(let bytes) = row[1] else { return [] }
            return bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        }
        #expect(vectors == [[10, 100, 100], [10, 40, 40]], "count, mean, max before and after the repair")
        #expect(try harness.counter("late_samples") == 1, "the reading from before the repair arrived after it")
    }

    /// A repair restarts the spike filters too: a worn machine's readings spread widely, and a
    /// filter that kept their spread would pass a spike on the repaired machine as its level.
    @Test func aRepairRestartsTheSpikeFilters() throws {
        let harness = try AgentHarness()
        let agent = try harness.startAgent()
        let publisher = try harness.publisher()
        func reading(_ seq: Int, _ value: Double) -> (topic: String, payload: String) {
            ("plant/motor/m1/temperature", #"{"seq": \#(seq), "ts": \#(1750000000 + seq), "value": \#(value)}"#)
        }
        var messages = (0..<60).map { reading($0, $0 % 2 == 0 ? 60 : 140) }
        messages.append(("vigil/maintenance/m1", #"{"kind": "repair", "ts": 1750000060}"#))
        messages += (60..<120).map { reading($0, $0 == 95 ? 100 : 40 + Double($0 % 7) / 10) }
        try publishAll(publisher, messages)
        try harness.waitUntilIngested(messages.count - 1)
        agent.stop()
        publisher.stop()

        let spikes = try harness.counter("spike_readings")
        #expect(spikes == 1, "spikes: \(spikes)")
        let windows = try harness.query("""
            SELECT f.vector FROM features f JOIN feature_sets fs ON fs.id = f.feature_set
            WHERE fs.sensor = 'temperature' AND f.window_start = 1750000090
            """)
        guard case .blob(let bytes) = windows.first?[0] else { Issue.record("no window after the repair"); return }
        let vector = bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        #expect(vector[0] == 9 && vector[2] < 41, "count and max of the window holding the spike: \(vector)")
    }
}
