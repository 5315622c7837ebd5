import Testing
import VigilAgent
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilStore
import VigilTestSupport

/// Faults of a device's data rather than its machine: messages lost on the way and a clock
/// running ahead of the agent's are reported with the device's health, in `status` and across a
/// restart, and cleared when they stop; a sound device shows none.
@Suite("Agent data quality")
struct DataQualityTests {
    /// `count` temperature readings of `device`, 0.05 s apart from `start`, skipping every
    /// `skipEvery`-th sequence number (0: none) after `firstSeq`.
    static func readings(_ device: String, count: Int, firstSeq: Int = 0, start: Double, skipEvery: Int = 0) -> [(String, String)] {
        var messages: [(String, String)] = []
        var seq = firstSeq
        for index in 0..<count {
            if skipEvery > 0 && seq % skipEvery == skipEvery - 1 { seq += 1 }
            messages.append(("plant/motor/\(device)/temperature",
                             #"{"seq": \#(seq), "ts": \#(start + Double(index) * 0.05), "value": \#(40 + index % 7)}"#))
            seq += 1
        }
        return messages
    }

    @Test func dropoutsAndASkewedClockAreReportedAndClear() throws {
        let harness = try AgentHarness()
        let key = Ed25519.generate()
        try writeBytes(harness.directory.file("models/overheat.vgm"), ScoringTests.bundle(signedBy: key))
        try harness.writeConfiguration(#""trusted_keys": ["\#(ModelBundle.hex(key.publicKey))"], "clock_tolerance_seconds": 60"#)
        let health = MessageInbox()
        let watcher = try connectedClient(harness.broker.url, id: "health-watcher", subscriptions: ["vigil/edge-test/health/#"], inbox: health)
        defer { watcher.stop() }
        var agent = try harness.startAgent()
        let publisher = try harness.publisher()
        defer { publisher.stop() }
        // m1: 1,000 messages, one sequence number in 40 lost (2.5%), stamped 90 s ahead; m2: sound.
        let now = WallClock.now()
        let faulty = Self.readings("m1", count: 1_000, start: now + 90, skipEvery: 40)
        let sound = Self.readings("m2", count: 600, start: now - 100)
        try publishAll(publisher, faulty + sound)
        try harness.waitUntilIngested(faulty.count + sound.count)

        var devices = try AgentStatus.read(database: harness.database).devices
        #expect(devices.map(\.sensorFaults) == [["clock_skew", "dropouts"], []], "\(devices)")
        var messages: [String] = []
        while !messages.contains(where: { $0.contains(#""sensor_faults":["clock_skew","dropouts"]"#) }) {
            let more = collect(health, count: 1).map(\.payload)
            if more.isEmpty { break }
            messages += more
        }
        #expect(messages.contains { $0.contains(#""device":"m1""#) && $0.contains(#""sensor_faults":["clock_skew","dropouts"]"#) },
                "\(messages)")
        #expect(harness.log.all.contains { $0.contains("data quality changed") && $0.contains("sensor_faults=clock_skew,dropouts") })

        // The verdict survives a restart; then m1 sends 600 messages on time and without a gap.
        agent.stop()
        agent = try harness.startAgent()
        defer { agent.stop() }
        #expect(try AgentStatus.read(database: harness.database).devices.map(\.sensorFaults) == [["clock_skew", "dropouts"], []])
        let mended = Self.readings("m1", count: 600, firstSeq: 1_100, start: now - 50)
        try publishAll(publisher, mended)
        try harness.waitUntilIngested(faulty.count + sound.count + mended.count)
        devices = try AgentStatus.read(database: harness.database).devices
        #expect(devices.map(\.sensorFaults) == [[], []], "\(devices)")
        #expect(try AgentStatus.read(database: harness.database).text().contains("clock_skew") == false)
    }

    /// One reading in 50 three times its sensor's level is a spiking sensor, and its feature
    /// windows leave the spikes out; a step to a new level (an operating point moved) is not, nor
    /// is a sound sensor.
    @Test func spikesAreReportedAndAStepIsNot() throws {
        let harness = try AgentHarness()
        let agent = try harness.startAgent()
        defer { agent.stop() }
        // Half a second into a 10-second window: the last reading, a spike the filter holds,
        // then closes no window that the sound sensor's last reading would close.
        let start = ((WallClock.now() - 3_600) / 10).rounded(.down) * 10 + 0.5
        func readings(_ device: String, _ value: (Int) -> Double) -> [(String, String)] {
            (0..<1_200).map { index in
                ("plant/motor/\(device)/temperature",
                 #"{"seq": \#(index), "ts": \#(start + Double(index)), "value": \#(value(index))}"#)
            }
        }
        let base = { (index: Int) in 40 + Double(index % 7) * 0.1 }
        let spiking = readings("m1") { index in index % 50 == 49 ? 3 * base(index) : base(index) }
        let stepped = readings("m2") { index in index < 600 ? base(index) : 20 + base(index) }
        let sound = readings("m3", base)
        try publishAll(try harness.publisher(), spiking + stepped + sound)
        try harness.waitUntilIngested(spiking.count + stepped.count + sound.count)
        #expect(try AgentStatus.read(database: harness.database).devices.map(\.sensorFaults) == [["spikes"], [], []])

        // Feature windows (count, mean, max over 10 s) leave the spikes out, all but the last,
        // which waits for the reading after it; the step's windows keep every reading.
        var windows: [String: [[Double]]] = [:]
        for row in try harness.query("SELECT s.device, f.vector FROM features f JOIN series s ON s.id = f.series ORDER BY f.id") {
            guard case .text(let device) = row[0], case .blob(let bytes) = row[1] else { continue }
            windows[device, default: []].append(FleetTables.vector(bytes))
        }
        let counted = windows.mapValues { $0.reduce(0) { $0 + $1[0] } }
        #expect(try harness.counter("spike_readings") == 23)
        #expect(counted["m1"] == counted["m3"].map { $0 - 23 })
        #expect(counted["m2"] == counted["m3"])
        #expect(windows["m1"]?.allSatisfy { $0[2] < 41 } == true, "\(windows["m1"] ?? [])")
        #expect(windows["m2"]?.contains { $0[2] > 60 } == true)
    }

    /// With `clock_tolerance_seconds` 0 (simulated time runs ahead of the wall clock), clocks
    /// are not judged.
    @Test func clocksAreNotJudgedWhenToleranceIsOff() throws {
        let harness = try AgentHarness()
        try harness.writeConfiguration(#""clock_tolerance_seconds": 0"#)
        let agent = try harness.startAgent()
        defer { agent.stop() }
        let readings = Self.readings("m1", count: 100, start: WallClock.now() + 86_400)
        try publishAll(try harness.publisher(), readings)
        try harness.waitUntilIngested(readings.count)
        #expect(try AgentStatus.read(database: harness.database).devices.map(\.sensorFaults) == [[]])
    }
}
