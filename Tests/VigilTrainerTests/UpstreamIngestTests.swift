import Testing
import VigilCore
import VigilFleet
import VigilMQTT
import VigilStore
import VigilTestSupport
import VigilTrainer

@Suite("Upstream ingest")
struct UpstreamIngestTests {
    static func batch(_ sequence: Int64, agent: String = "edge-7") -> UpstreamBatch {
        let set = UpstreamBatch.FeatureSet(id: 3, identity: FeatureSetIdentity(
            deviceType: "induction-motor", sensor: "temperature", window: .time(seconds: 3600, hopSeconds: 1800), names: ["mean", "max"]))
        let features = (0..<5).map { index -> UpstreamBatch.Feature in
            let start = Double(sequence) * 10 + Double(index)
            return UpstreamBatch.Feature(device: "motor-1", set: 3, start: start, end: start + 1, count: 60, values: [40 + Double(index), 45])
        }
        let event = try! MaintenanceEvent(payload: Array(#"{"device": "motor-1", "kind": "fault", "mode": "ball", "ts": \#(1750000000 + sequence)}"#.utf8),
                                          topicDevice: "")
        let prediction = UpstreamBatch.Prediction(device: "motor-1", model: "motor-health", version: "1.0.0",
                                                  windowEnd: Double(sequence), predicted: "healthy", probabilities: [0.9, 0.1])
        return UpstreamBatch(agent: agent, epoch: "00000000000000e1", sequence: sequence, featureSets: [set], features: features, events: [event],
                             predictions: [prediction])
    }

    @Test func batchesRoundTripCompressed() throws {
        var original = Self.batch(4)
        original.readings = [
            .init(device: "motor-1", sensor: "temperature", deviceType: "induction-motor", seq: 7, timestamp: 1750000000.25, value: 61.5),
            .init(device: "motor-1", sensor: "vibration", deviceType: "induction-motor", seq: 8, timestamp: 1750000000.5, rateHz: 4096,
                  samples: [0.5, -1.25, 3]),
        ]
        let bytes = original.encoded()
        #expect(try UpstreamBatch(bytes: bytes) == original)
        #expect(throws: FleetError.self) { try UpstreamBatch(bytes: Array(bytes.dropLast(5))) }
        let plain = try UpstreamBatch.unpack(bytes)
        #expect(throws: FleetError("oversized", "batch unpacks to \(plain.count) bytes, limit 10")) {
            try UpstreamBatch(bytes: bytes, maxPlainBytes: 10)
        }
    }

    /// A batch of a format this trainer does not read is refused with a reason the agent can act on.
    @Test func anUnsupportedFormatIsRefusedWithTheFormatsRead() throws {
        var plain = try UpstreamBatch.unpack(Self.batch(0).encoded())
        let format = Array(#""format":2"#.utf8)
        let at = try #require((0...(plain.count - format.count)).first { plain[$0..<$0 + format.count].elementsEqual(format) })
        plain[at + format.count - 1] = UInt8(ascii: "7")
        #expect(throws: FleetError("unsupported_format", "batch format 7; this trainer reads 2")) {
            try UpstreamBatch(bytes: UpstreamBatch.pack(plain))
        }
        // A batch cut inside its binary part, or naming a set it does not define, is refused.
        let cut = UpstreamBatch.pack(Array(try UpstreamBatch.unpack(Self.batch(0).encoded()).dropLast(3)))
        #expect(throws: FleetError("malformed", "the batch ends inside a record")) { try UpstreamBatch(bytes: cut) }
        var unknownSet = Self.batch(0)
        unknownSet.features[0].set = 99
        #expect(throws: FleetError("malformed", "feature window 0 names set 99, which the batch does not define")) {
            try UpstreamBatch(bytes: unknownSet.encoded())
        }
    }

    /// Batches are stored once despite resends and out-of-order arrival; the ack is the highest
    /// sequence held without a gap; bad batches are refused without blocking the rest.
    @Test func storesOnceAcknowledgesContiguouslyAndRefusesBadBatches() throws {
        let broker = try TestBroker()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteUpstreamStore(path: directory.file("trainer.db"))
        let ingest = try UpstreamIngest(central: CentralBroker(url: BrokerURL(parsing: broker.url)), store: store)
        ingest.start()
        #expect(ingest.waitUntilReady(timeout: 10))
        let acks = MessageInbox()
        let agent = try connectedClient(broker.url, id: "edge-7", subscriptions: ["vigil/upstream/edge-7/ack"], inbox: acks)
        let topic = "vigil/upstream/edge-7/batch"
        for sequence: Int64 in [0, 1, 1, 3] { try agent.publish(topic: topic, payload: Self.batch(sequence).encoded()) }
        try agent.publish(topic: topic, payload: Array("not a batch".utf8))
        try agent.publish(topic: topic, payload: Self.batch(9, agent: "someone-else").encoded())
        try agent.publish(topic: topic, payload: Self.batch(2).encoded())
        #expect(agent.waitForPublished(timeout: 10))
        let received = try collect(acks, count: 7).map { try UpstreamAck(bytes: Array($0.payload.utf8)) }
        #expect(received.map(\.acked) == [0, 1, 1, 1, -1, 1, 3], "a batch that cannot be read has no epoch to acknowledge")
        #expect(received.compactMap(\.refused?.reason).count == 2)
        #expect(received[4].refused?.reason.hasPrefix("malformed") == true)
        #expect(received[5].refused?.reason == "batch says it is from someone-else")
        #expect(eventually { ingest.snapshot == .init(stored: 4, duplicates: 1, refused: 2, rows: 28) })
        ingest.stop()
        agent.stop()
        #expect(try store.database.scalar("SELECT count(*) FROM features")?.int64 == 20)
        #expect(try store.database.scalar("SELECT count(*) FROM maintenance_events")?.int64 == 4)
        #expect(try store.database.scalar("SELECT count(*) FROM predictions")?.int64 == 4)
        #expect(try store.acknowledged(agent: "edge-7", epoch: "00000000000000e1") == 3)
        #expect(try store.acknowledged(agent: "edge-7", epoch: "another database") == -1)
    }

    /// Databases written before windows had one text form are rewritten to it, so the dataset
    /// and the models match on it.
    @Test func oldWindowTextIsMigratedToTheCanonicalForm() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database(path: directory.file("old.db"))
        try database.execute("""
            CREATE TABLE feature_sets(id INTEGER PRIMARY KEY, window_kind TEXT, window TEXT);
            INSERT INTO feature_sets(window_kind, window) VALUES
                ('count', '{"size":256,"hop":32}'), ('time', '{"seconds":3600.0,"hop_seconds":1800.0}'),
                ('time', '{"seconds":0.5,"hop_seconds":0.25}');
            """)
        try database.execute(FleetTables.canonicalWindowsMigration)
        let windows = try database.rows("SELECT window FROM feature_sets ORDER BY id").map { $0[0].string ?? "" }
        #expect(windows == ["count:256:32", "time:3600:1800", "time:0.5:0.25"])
        #expect(windows.compactMap(FeatureWindowSpec.Window.init(canonical:)).map(\.canonical) == windows)
    }

    /// A trainer's store (its path) holding four batches of each of two agents' motor-1, and the
    /// profile of their one feature set.
    static func twoAgentsStore(in directory: TemporaryDirectory) throws -> (path: String, profile: DeviceProfile) {
        let store = try SQLiteUpstreamStore(path: directory.file("trainer.db"))
        for sequence: Int64 in 0..<4 {
            _ = try store.store(Self.batch(sequence, agent: "edge-7"))
            _ = try store.store(Self.batch(sequence, agent: "edge-8"))
        }
        try writeFile(directory.file("motor.json"), """
            {"type": "induction-motor", "topics": ["plant/motor/{device}/{sensor}"], "timestamp_unit": "s",
             "sensors": [{"name": "temperature", "unit": "degC", "kind": "value", "min": -40, "max": 200}],
             "features": [{"sensor": "temperature", "window": {"seconds": 3600, "hop_seconds": 1800}, "features": ["mean", "max"]}]}
            """)
        return (directory.file("trainer.db"), try DeviceProfile.load(file: directory.file("motor.json")))
    }

    /// The trainer's store reads as a dataset source like an agent's database, with devices
    /// known by agent: two agents' motor-1 are two devices, not one.
    @Test func theStoreIsADatasetSourceKeyedByAgent() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (path, profile) = try Self.twoAgentsStore(in: directory)
        let source = try openDatasetSource(path)
        #expect(source is TrainerStore)
        #expect(try source.faultCount(deviceType: "induction-motor") == 8)
        let dataset = try source.dataset(profile: profile, rule: LabelRule(horizon: 5))
        #expect(Set(dataset.examples.map(\.device)) == ["edge-7/motor-1", "edge-8/motor-1"])
        #expect(dataset.featureNames == ["temperature.mean", "temperature.max"])
    }

    /// A batch whose transaction fails (a trigger aborts its prediction) leaves nothing behind,
    /// not even in the store's cache of series ids: the next batch of the same device stores
    /// rows that point at a series that exists.
    @Test func aFailedBatchLeavesNoStaleSeriesId() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteUpstreamStore(path: directory.file("trainer.db"))
        try store.database.execute("""
            CREATE TRIGGER injected_failure BEFORE INSERT ON predictions WHEN NEW.window_end = 1
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END
            """)
        #expect(throws: (any Error).self) { try store.store(Self.batch(1)) }
        #expect(try store.acknowledged(agent: "edge-7", epoch: "00000000000000e1") == -1)
        try store.database.execute("DROP TRIGGER injected_failure")
        _ = try store.store(Self.batch(0, agent: "edge-8"))
        _ = try store.store(Self.batch(0))
        #expect(try store.database.scalar("SELECT count(*) FROM features f LEFT JOIN series s ON s.id = f.series WHERE s.id IS NULL")?.int64 == 0)
        #expect(try store.database.scalar("SELECT count(DISTINCT series) FROM features")?.int64 == 2)
    }
}
