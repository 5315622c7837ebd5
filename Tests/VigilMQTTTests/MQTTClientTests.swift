import Testing
import VigilMQTT
import VigilTestSupport

@Suite("MQTT client against a real mosquitto")
struct MQTTClientTests {
    @Test func brokerURLs() throws {
        #expect(try BrokerURL(parsing: "mqtt://127.0.0.1:1884") == BrokerURL(host: "127.0.0.1", port: 1884, tls: false))
        #expect(try BrokerURL(parsing: "mqtts://broker.plant") == BrokerURL(host: "broker.plant", port: 8883, tls: true))
        #expect(try BrokerURL(parsing: "mqtt://[::1]:1883").host == "::1")
        for bad in ["127.0.0.1:1883", "http://x:1", "mqtt://x:0", "mqtt://x:port", "mqtt://", "mqtt://u:p@x:1"] {
            #expect(throws: MQTTError.self, "\(bad)") { try BrokerURL(parsing: bad) }
        }
    }

    @Test(arguments: [Int32(0), 1, 2])
    func deliversEveryMessageInOrderAtEachQoS(qos: Int32) throws {
        let broker = try TestBroker()
        let inbox = MessageInbox()
        let subscriber = try connectedClient(broker.url, id: "sub", subscriptions: ["t/#"], qos: qos, inbox: inbox)
        let publisher = try connectedClient(broker.url, id: "pub")
        for index in 0..<2_000 {
            try publisher.publish(topic: "t/\(index % 3)", text: "m\(index)", qos: qos)
        }
        #expect(publisher.waitForPublished(timeout: 10))
        let received = collect(inbox, count: 2_000)
        #expect(received.count == 2_000)
        #expect(received.map(\.payload) == (0..<2_000).map { "m\($0)" })
        #expect(received.first?.topic == "t/0")
        subscriber.stop()
        publisher.stop()
    }

    @Test func oversizedPayloadsAreKeptAsAPrefixWithTheirSize() throws {
        let broker = try TestBroker()
        let inbox = MessageInbox(maxPayloadBytes: 1_000)
        let subscriber = try connectedClient(broker.url, id: "sub", subscriptions: ["big"], inbox: inbox)
        let publisher = try connectedClient(broker.url, id: "pub")
        try publisher.publish(topic: "big", payload: [UInt8](repeating: 65, count: 5_000))
        try publisher.publish(topic: "big", payload: [UInt8](repeating: 66, count: 1_000))
        #expect(publisher.waitForPublished(timeout: 5))
        var batch = MessageBatch()
        var sizes: [(Int, Int)] = []
        while sizes.count < 2, inbox.take(into: &batch, until: nil) {
            for index in 0..<batch.count {
                batch.withMessage(at: index) { _, payload, entry in sizes.append((payload.count, entry.payloadSize)) }
            }
        }
        #expect(sizes.map(\.0) == [MessageInbox.oversizedPrefix, 1_000])
        #expect(sizes.map(\.1) == [5_000, 1_000])
        subscriber.stop()
        publisher.stop()
    }

    @Test func reconnectsAndResubscribesAfterTheBrokerRestarts() throws {
        let broker = try TestBroker()
        let inbox = MessageInbox()
        let subscriber = try connectedClient(broker.url, id: "sub", subscriptions: ["r"], inbox: inbox)
        try broker.restart()
        // The client notices, backs off, reconnects and subscribes again by itself.
        #expect(subscriber.waitUntilReady(timeout: 15))
        let publisher = try connectedClient(broker.url, id: "pub")
        try publisher.publish(topic: "r", text: "after restart")
        #expect(collect(inbox, count: 1).map(\.payload) == ["after restart"])
        subscriber.stop()
        publisher.stop()
    }

    /// A QoS 1 message published while the broker is away is queued and delivered once the
    /// client is back; a QoS 0 one is refused, as it would be lost.
    @Test func aMessagePublishedWhileDisconnectedGoesOutOnReconnect() throws {
        let broker = try TestBroker()
        let publisher = try connectedClient(broker.url, id: "pub")
        defer { publisher.stop() }
        broker.stop()
        #expect(eventually(timeout: 10) { !publisher.isConnected })
        try publisher.publish(topic: "w", text: "queued", qos: 1, retain: true)
        #expect(publisher.outstanding == 1)
        #expect(throws: MQTTError.self) { try publisher.publish(topic: "w", text: "lost", qos: 0) }
        try broker.restart()
        #expect(publisher.waitForPublished(timeout: 15))
        let inbox = MessageInbox()
        let subscriber = try connectedClient(broker.url, id: "sub", subscriptions: ["w"], inbox: inbox)
        #expect(collect(inbox, count: 1).map(\.payload) == ["queued"])
        subscriber.stop()
    }

    @Test func persistentSessionReceivesWhatWasQueuedWhileAway() throws {
        let broker = try TestBroker(persistence: true)
        let inbox = MessageInbox()
        let first = try connectedClient(broker.url, id: "durable", subscriptions: ["q"], qos: 1, cleanSession: false, inbox: inbox)
        first.stop()
        let publisher = try connectedClient(broker.url, id: "pub")
        for index in 0..<100 { try publisher.publish(topic: "q", text: "\(index)", qos: 1) }
        #expect(publisher.waitForPublished(timeout: 5))
        publisher.stop()
        try broker.restart()
        let again = try connectedClient(broker.url, id: "durable", subscriptions: ["q"], qos: 1, cleanSession: false, inbox: inbox)
        #expect(collect(inbox, count: 100).map(\.payload) == (0..<100).map { "\($0)" })
        again.stop()
    }

    @Test func usernameAndPassword() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let passwords = directory.file("passwords")
        try writeFile(passwords, "")
        #expect(try ChildProcess.run("mosquitto_passwd", ["-b", passwords, "edge", "s3cret"], log: directory.file("log")) == 0)
        // Appended to TestBroker's base config, which keeps max_queued_messages 0 (no silent drops).
        let broker = try TestBroker(configuration: "allow_anonymous false\npassword_file \(passwords)")
        let good = try connectedClient(broker.url, id: "good") { $0.username = "edge"; $0.password = "s3cret" }
        #expect(good.isConnected)
        good.stop()
        #expect(throws: TestFailure.self) {
            try connectedClient(broker.url, id: "bad") { $0.username = "edge"; $0.password = "wrong"; $0.reconnectMinDelay = 0.05 }
        }
    }

    @Test(arguments: [false, true])
    func tlsWithAThrowawayCA(clientCertificate: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let certificates = try TestCertificates(in: directory)
        let broker = try TestBroker(configuration: """
            cafile \(certificates.caFile)
            certfile \(certificates.serverCertFile)
            keyfile \(certificates.serverKeyFile)
            require_certificate \(clientCertificate)
            """)
        let url = "mqtts://127.0.0.1:\(broker.port)"
        let inbox = MessageInbox()
        let client = try connectedClient(url, id: "tls", subscriptions: ["s"], inbox: inbox) {
            $0.tls = .init(caFile: certificates.caFile,
                           certFile: clientCertificate ? certificates.clientCertFile : nil,
                           keyFile: clientCertificate ? certificates.clientKeyFile : nil)
        }
        try client.publish(topic: "s", text: "over tls")
        #expect(collect(inbox, count: 1).map(\.payload) == ["over tls"])
        client.stop()
        // A client that does not trust the CA never gets a session.
        let otherFolder = try TemporaryDirectory()
        defer { otherFolder.remove() }
        let other = try TestCertificates(in: otherFolder)
        #expect(throws: TestFailure.self) {
            try connectedClient(url, id: "untrusting") { $0.tls = .init(caFile: other.caFile); $0.reconnectMinDelay = 0.05 }
        }
    }
}
