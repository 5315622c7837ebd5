#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import VigilAgent
import VigilCore
import VigilMQTT
import VigilTestSupport

@Suite("Agent resilience: broker restarts, kill -9, TLS", .serialized)
struct ResilienceTests {
    /// The broker goes away mid-stream; while it is gone and while the agent reconnects, the
    /// messages published are queued for the agent's persistent session and arrive afterwards.
    @Test func brokerRestartMidStreamLosesNothing() throws {
        let harness = try AgentHarness(persistence: true)
        try harness.writeConfiguration(broker: #", "reconnect_min_delay": 1, "reconnect_max_delay": 2"#)
        let agent = try harness.startAgent()
        func readings(_ range: Range<Int>) -> [(topic: String, payload: String)] {
            range.map { ("plant/motor/m1/temperature", #"{"seq": \#($0), "ts": \#(1750000000 + $0), "value": 20.5}"#) }
        }
        var publisher = try harness.publisher()
        try publishAll(publisher, readings(0..<500))
        try harness.waitUntilIngested(500)
        publisher.stop()
        try harness.broker.restart()
        // Publish at once, before the agent's backoff lets it back in.
        publisher = try harness.publisher("publisher-2")
        try publishAll(publisher, readings(500..<1000))
        try harness.waitUntilIngested(1000)
        agent.stop()
        publisher.stop()
        let device = try #require(try AgentStatus.read(database: harness.database).devices.first)
        #expect(device.messages == 1000)
        #expect(device.missing == 0)
        let lines = harness.log.all
        #expect(lines.contains { $0.contains("lost") && $0.contains("reconnecting") }, "the agent saw the broker go: \(lines)")
        #expect(lines.filter { $0.contains("component=mqtt msg=connected") }.count >= 2)
        #expect(try harness.integer("SELECT count(DISTINCT seq) FROM readings") == 1000)
    }

    /// kill -9 of the agent process while messages stream in, then a restart: no duplicate rows,
    /// and what was lost (received but not committed) is counted as missing and within the
    /// documented bound of 2 x inbox_capacity + commit_max_messages.
    @Test func killNineMidStreamThenRestart() throws {
        let harness = try AgentHarness(persistence: true)
        let inboxCapacity = 500
        let commitMax = 200
        try harness.writeConfiguration(#""inbox_capacity": \#(inboxCapacity), "commit_max_messages": \#(commitMax)"#)
        let statusInbox = MessageInbox()
        let watcher = try connectedClient(harness.broker.url, id: "status-watcher", subscriptions: ["vigil/edge-test/status"],
                                          inbox: statusInbox)
        var agent = try harness.startAgentProcess()
        #expect(collect(statusInbox, count: 1).map(\.payload) == [#"{"agent":"edge-test","state":"online"}"#])
        let total = 20_000
        let publisher = try harness.publisher()
        let published = Atomic<Int>(0)
        let sender = NativeThread(name: "test-publisher") {
            for seq in 0..<total {
                let payload = #"{"seq": \#(seq), "ts": \#(1750000000 + Double(seq) / 1000), "current": 3.5}"#
                try? publisher.publish(topic: "plant/fan/f9/telemetry", text: payload, qos: 1)
                if seq % 100 == 99 {
                    publisher.waitForPublished(timeout: 10)
                    published.store(seq + 1, ordering: .relaxed)
                    usleep(2_000)
                }
            }
            publisher.waitForPublished(timeout: 20)
            published.store(total, ordering: .relaxed)
        }
        // Kill it while the stream is in full flow.
        #expect(try eventually(timeout: 30) { try harness.counter("messages_stored") >= 3_000 })
        agent.signal(SIGKILL)
        #expect(agent.wait() == 128 + SIGKILL)
        // The broker tells the fleet the agent is gone (its last will).
        #expect(collect(statusInbox, count: 1).map(\.payload) == [#"{"agent":"edge-test","state":"offline"}"#])
        let storedAtKill = try harness.counter("messages_stored")
        usleep(300_000)
        agent = try harness.startAgentProcess()
        sender.join()
        #expect(published.load(ordering: .relaxed) == total)
        // Everything after the kill arrives: the last message is stored.
        #expect(try eventually(timeout: 30) { try harness.integer("SELECT max(seq) FROM readings") == Int64(total - 1) })
        usleep(300_000)
        #expect(agent.stop() == 0)
        publisher.stop()
        // online after the restart, offline from the clean stop
        #expect(collect(statusInbox, count: 2).map(\.payload).last == #"{"agent":"edge-test","state":"offline"}"#)
        watcher.stop()

        let stored = try harness.integer("SELECT count(*) FROM readings")
        #expect(try harness.integer("SELECT count(*) FROM (SELECT DISTINCT seq FROM readings)") == stored, "no duplicate rows")
        let device = try #require(try AgentStatus.read(database: harness.database).devices.first)
        #expect(device.messages == stored)
        #expect(device.missing == Int64(total) - stored, "every lost message is counted as missing")
        #expect(device.missing <= Int64(2 * inboxCapacity + commitMax), "lost \(device.missing), bound \(2 * inboxCapacity + commitMax)")
        #expect(storedAtKill < Int64(total))
        // The command-line status agrees.
        let statusLog = harness.directory.file("status.json")
        #expect(try ChildProcess.run(buildProductsDirectory() + "/vigil-agent", ["status", "--config", harness.configPath, "--json"],
                                     log: statusLog) == 0)
        #expect(try readFile(statusLog).contains(#""messages": \#(stored)"#))
    }

    @Test func tlsFromTheConfigFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let certificates = try TestCertificates(in: folder)
        let harness = try AgentHarness(brokerConfiguration: """
            cafile \(certificates.caFile)
            certfile \(certificates.serverCertFile)
            keyfile \(certificates.serverKeyFile)
            require_certificate true
            """)
        try harness.writeConfiguration(
            url: "mqtts://127.0.0.1:\(harness.broker.port)",
            broker: #", "ca_file": "\#(certificates.caFile)", "cert_file": "\#(certificates.clientCertFile)", "key_file": "\#(certificates.clientKeyFile)""#)
        let agent = try harness.startAgent()
        let publisher = try connectedClient("mqtts://127.0.0.1:\(harness.broker.port)", id: "tls-publisher") {
            $0.tls = .init(caFile: certificates.caFile, certFile: certificates.clientCertFile, keyFile: certificates.clientKeyFile)
        }
        try publishAll(publisher, [("plant/motor/m3/temperature", #"{"seq": 1, "ts": 1750000000, "value": 42}"#)])
        try harness.waitUntilIngested(1)
        agent.stop()
        publisher.stop()
        #expect(try harness.query("SELECT value FROM readings") == [[.real(42)]])
    }
}
