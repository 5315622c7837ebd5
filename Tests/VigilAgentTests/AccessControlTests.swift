#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilAgent
import VigilMQTT
import VigilTestSupport
import VigilTrainer

/// The central broker's example ACL (`deploy/central-broker/acl`) on a real mosquitto.
@Suite("Who may write where on the central broker", .serialized)
struct AccessControlTests {
    static let acl = String(#filePath.split(separator: "/Tests/").first!) + "/deploy/central-broker/acl"

    /// The central broker's config lines for `users` (each with the password `<user>-secret`)
    /// and the shipped ACL, appended to TestBroker's base config, which keeps
    /// max_queued_messages 0 (no silent drops).
    static func configuration(_ directory: TemporaryDirectory, users: [String]) throws -> String {
        let passwords = directory.file("passwd")
        for (index, user) in users.enumerated() {
            let arguments = (index == 0 ? ["-c"] : []) + ["-b", passwords, user, "\(user)-secret"]
            guard try ChildProcess.run("mosquitto_passwd", arguments, log: directory.file("passwd.log")) == 0 else {
                throw TestFailure("mosquitto_passwd failed: \(try readFile(directory.file("passwd.log")))")
            }
        }
        return "allow_anonymous false\npassword_file \(passwords)\nacl_file \(acl)"
    }

    /// A client of `user`, with a session the broker keeps: on a loaded machine a keepalive may
    /// lapse, and the client reconnects without losing what was sent to it meanwhile.
    static func client(_ broker: TestBroker, _ user: String, subscriptions: [String] = [], inbox: MessageInbox? = nil) throws -> MQTTClient {
        try connectedClient(broker.url, id: "\(user)-test", subscriptions: subscriptions, cleanSession: false, inbox: inbox) {
            $0.username = user
            $0.password = "\(user)-secret"
        }
    }

    /// Agent A cannot publish a batch or a drift report as agent B nor a release, nor read B's
    /// acks; the trainer reads A's batches and drift reports and can do the rest.
    @Test func agentsWriteOnlyTheirOwnTopics() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let broker = try TestBroker(configuration: Self.configuration(directory, users: ["edge-a", "edge-b", "vigil-trainer"]))
        let seen = MessageInbox()
        let trainer = try Self.client(broker, "vigil-trainer", subscriptions: ["vigil/upstream/+/batch", "vigil/release/#", "vigil/+/drift/+"],
                                      inbox: seen)
        let acksOfA = MessageInbox()
        let agentA = try Self.client(broker, "edge-a", subscriptions: ["vigil/upstream/edge-a/ack", "vigil/upstream/edge-b/ack"],
                                     inbox: acksOfA)
        for (topic, text) in [("vigil/upstream/edge-b/batch", "forged"), ("vigil/upstream/edge-a/batch", "own"),
                              ("vigil/release/motor/rule", "fake rule"), ("vigil/edge-b/drift/motor", "forged drift"),
                              ("vigil/edge-a/drift/motor", "own drift"), ("vigil/upstream/edge-a/batch", "own again")] {
            try agentA.publish(topic: topic, text: text)
        }
        #expect(agentA.waitForPublished(timeout: 10))
        #expect(collectDistinct(seen, count: 3).map { "\($0.topic) \($0.payload)" }
            == ["vigil/upstream/edge-a/batch own", "vigil/edge-a/drift/motor own drift", "vigil/upstream/edge-a/batch own again"])
        try trainer.publish(topic: "vigil/upstream/edge-b/ack", text: "for b")
        try trainer.publish(topic: "vigil/upstream/edge-a/ack", text: "for a")
        try trainer.publish(topic: "vigil/release/motor/rule", text: "real rule", retain: true)
        #expect(trainer.waitForPublished(timeout: 10))
        #expect(collectDistinct(acksOfA, count: 1).map(\.payload) == ["for a"])
        #expect(collectDistinct(seen, count: 1).map(\.payload) == ["real rule"])
        agentA.stop()
        trainer.stop()
        // Without a credential, nothing at all.
        #expect(throws: TestFailure.self) { try connectedClient(broker.url, id: "anonymous").stop() }
    }

    /// The whole uplink under the ACL: an agent with its credential uploads, the trainer with
    /// its own acknowledges, and every row arrives once.
    @Test func uploadWorksUnderTheACL() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fleet = try FleetHarness(centralConfiguration: Self.configuration(directory, users: ["edge-test", "vigil-trainer"]))
        try fleet.configure(upstream: #", "username": "edge-test", "password": "edge-test-secret""#)
        let ingest = try UpstreamIngest(central: CentralBroker(url: BrokerURL(parsing: fleet.central.url), username: "vigil-trainer",
                                                               password: "vigil-trainer-secret"),
                                        store: SQLiteUpstreamStore(path: fleet.store))
        ingest.start()
        #expect(ingest.waitUntilReady(timeout: 10))
        let agent = try fleet.edge.startAgent()
        let publisher = try fleet.edge.publisher()
        try publishAll(publisher, FleetHarness.readings(devices: ["m1", "m2"], seconds: 0..<120))
        try fleet.edge.waitUntilIngested(240)
        try fleet.waitUntilSynced()
        agent.stop()
        publisher.stop()
        ingest.stop()
        #expect(try FleetHarness.rows(fleet.store).count == 22, "11 windows of each device")
    }
}
