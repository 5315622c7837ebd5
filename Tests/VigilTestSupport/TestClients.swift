import VigilMQTT

/// A started client connected to `broker`, subscribed to `subscriptions` if any, delivering to
/// `inbox`. Fails if it is not ready within ten seconds.
public func connectedClient(_ url: String, id: String, subscriptions: [String] = [], qos: Int32 = 1,
                            cleanSession: Bool = true, inbox: MessageInbox? = nil,
                            configure: (inout MQTTConfiguration) -> Void = { _ in }) throws -> MQTTClient {
    var configuration = MQTTConfiguration(url: try BrokerURL(parsing: url), clientID: id, cleanSession: cleanSession,
                                          subscriptions: subscriptions.map { .init($0, qos: qos) },
                                          reconnectMinDelay: 0.1, reconnectMaxDelay: 0.5)
    configure(&configuration)
    let client = try MQTTClient(configuration: configuration, inbox: inbox)
    client.start()
    guard client.waitUntilReady(timeout: 10) else {
        client.stop()
        throw TestFailure("client \(id) did not connect to \(url)")
    }
    return client
}

/// Takes messages from `inbox` until `count` have arrived or `timeout` passes; returns
/// (topic, payload) pairs as text.
public func collect(_ inbox: MessageInbox, count: Int, timeout: Double = 10) -> [(topic: String, payload: String)] {
    collectBytes(inbox, count: count, timeout: timeout).map { ($0.topic, String(decoding: $0.payload, as: UTF8.self)) }
}

/// Like `collect`, with the payloads as bytes (binary payloads: protobuf, bundles).
public func collectBytes(_ inbox: MessageInbox, count: Int, timeout: Double = 10) -> [(topic: String, payload: [UInt8])] {
    var received: [(String, [UInt8])] = []
    var batch = MessageBatch()
    let deadline = now() + timeout
    while received.count < count && now() < deadline {
        guard inbox.take(into: &batch, until: min(deadline, now() + 0.1)) else { break }
        for index in 0..<batch.count {
            batch.withMessage(at: index) { topic, payload, _ in received.append((String(decoding: topic, as: UTF8.self), Array(payload))) }
        }
    }
    return received
}

/// Like `collect`, but a message received again (same topic and payload) counts once: QoS 1 is
/// at least once, and a client that reconnects on a loaded machine may be sent one twice.
public func collectDistinct(_ inbox: MessageInbox, count: Int, timeout: Double = 10) -> [(topic: String, payload: String)] {
    var received: [(topic: String, payload: String)] = []
    let deadline = now() + timeout
    while received.count < count && now() < deadline {
        for message in collect(inbox, count: 1, timeout: max(0, deadline - now()))
        where !received.contains(where: { $0.topic == message.topic && $0.payload == message.payload }) {
            received.append(message)
        }
    }
    return received
}
