import CMosquitto
import Logging
import Synchronization
import VigilCore
import VigilObservability
#if canImport(Glibc)
import Glibc
#endif

/// An MQTT client over libmosquitto that stays connected: it connects in the background,
/// reconnects with exponential backoff and jitter after any loss, and (re)subscribes its
/// filters after every connect. Received messages go to a `MessageInbox` in batches.
///
/// The network loop runs on a thread of its own, never on Swift's cooperative pool, and the C
/// callbacks are plain functions: no actor-isolated closure is ever called by libmosquitto.
public final class MQTTClient: @unchecked Sendable {
    /// The configuration it was made with.
    public let configuration: MQTTConfiguration
    private let inbox: MessageInbox?
    private let logger: Logger
    private let handle: OpaquePointer
    private let state = ConditionLock()
    private var thread: NativeThread?
    /// Read by the network loop for every packet, so an atomic rather than the lock.
    private let stopping = Atomic<Bool>(false)
    // Guarded by `state`:
    private var connected = false
    private var connections = 0
    private var subscribed = false
    private var subscribeMessageID: Int32 = -1
    private var unacknowledged = 0
    /// Whether a session was established since the last connection attempt.
    private var hadSession = false
    private var lastRefusal: String?
    /// Connection failures, logged at most once a minute (network thread only).
    private var failures = LogRateLimit()

    private static let libraryReady: Bool = {
        mosquitto_lib_init()
        return true
    }()

    /// Makes a client; nothing happens on the network until `start()`. Connection failures are
    /// logged as warnings at most once a minute, with how many were held back.
    public init(configuration: MQTTConfiguration, inbox: MessageInbox? = nil,
                logger: Logger = .silent) throws(MQTTError) {
        precondition(Self.libraryReady)
        guard let handle = mosquitto_new(configuration.clientID, configuration.cleanSession, nil) else {
            throw .library(operation: "mosquitto_new for client \(configuration.clientID)", code: MOSQ_ERR_NOMEM.rawValue,
                           message: configuration.cleanSession || !configuration.clientID.isEmpty
                               ? "out of memory or invalid client id" : "a persistent session needs a client id")
        }
        self.handle = handle
        self.configuration = configuration
        self.inbox = inbox
        var logger = logger
        logger[metadataKey: "broker"] = "\(configuration.url)"
        self.logger = logger
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        try MQTTError.check(mosquitto_threaded_set(handle, true), "mosquitto_threaded_set")
        if let username = configuration.username {
            try MQTTError.check(mosquitto_username_pw_set(handle, username, configuration.password), "setting username")
        }
        if configuration.url.tls {
            try configureTLS(configuration.tls)
        }
        if let will = configuration.will {
            let rc = will.payload.withUnsafeBytes { bytes in
                mosquitto_will_set(handle, will.topic, Int32(bytes.count), bytes.baseAddress, will.qos, will.retain)
            }
            try MQTTError.check(rc, "setting the last will on \(will.topic)")
        }
        mosquitto_connect_callback_set(handle, { _, context, rc in
            MQTTClient.from(context)?.didConnect(rc)
        })
        mosquitto_disconnect_callback_set(handle, { _, context, rc in
            MQTTClient.from(context)?.didDisconnect(rc)
        })
        mosquitto_subscribe_callback_set(handle, { _, context, messageID, count, granted in
            MQTTClient.from(context)?.didSubscribe(messageID, Array(UnsafeBufferPointer(start: granted, count: Int(count))))
        })
        mosquitto_publish_callback_set(handle, { _, context, _ in
            MQTTClient.from(context)?.didPublish()
        })
        mosquitto_message_callback_set(handle, { _, context, message in
            guard let client = MQTTClient.from(context), let message = message?.pointee, let topic = message.topic else { return }
            client.inbox?.append(topic: UnsafeRawBufferPointer(start: topic, count: strlen(topic)),
                                 payload: UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen)),
                                 qos: message.qos, retained: message.retain)
        })
    }

    deinit {
        stop()
        mosquitto_destroy(handle)
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> MQTTClient? {
        context.map { Unmanaged<MQTTClient>.fromOpaque($0).takeUnretainedValue() }
    }

    private func configureTLS(_ tls: MQTTConfiguration.TLS) throws(MQTTError) {
        for file in [tls.caFile, tls.certFile, tls.keyFile].compactMap({ $0 }) where access(file, R_OK) != 0 {
            throw .tlsFile("TLS file \(file) cannot be read")
        }
        if (tls.certFile == nil) != (tls.keyFile == nil) {
            throw .tlsFile("a client certificate needs both cert_file and key_file")
        }
        if tls.caFile == nil {
            try MQTTError.check(mosquitto_int_option(handle, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "using the system CA store")
        }
        try MQTTError.check(mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil), "configuring TLS")
    }

    // MARK: Life cycle

    /// Starts connecting in the background; returns at once. Connection failures are retried
    /// with backoff until `stop()`.
    public func start() {
        state.withLock { precondition(self.thread == nil, "MQTTClient.start called twice") }
        stopping.store(false, ordering: .relaxed)
        let loop = NativeThread(name: "vigil-mqtt") { [self] in runLoop() }
        state.withLock { self.thread = loop }
    }

    /// Publishes the will (a clean disconnect does not make the broker send it), disconnects
    /// cleanly and stops the network thread.
    public func stop() {
        if let will = configuration.will, isConnected {
            try? publish(topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain)
            waitForPublished(timeout: 1)
        }
        stopping.store(true, ordering: .relaxed)
        let thread: NativeThread? = state.withLock {
            state.broadcast()
            defer { self.thread = nil }
            return self.thread
        }
        guard let thread else { return }
        mosquitto_disconnect(handle)
        thread.join()
    }

    private func runLoop() {
        var delay = configuration.reconnectMinDelay
        var everConnected = false
        while !stopping.load(ordering: .relaxed) {
            let rc = everConnected
                ? mosquitto_reconnect(handle)
                : mosquitto_connect(handle, configuration.url.host, Int32(configuration.url.port), configuration.keepAlive)
            if rc == MOSQ_ERR_SUCCESS.rawValue {
                everConnected = true
                var loop = MOSQ_ERR_SUCCESS.rawValue
                while loop == MOSQ_ERR_SUCCESS.rawValue && !stopping.load(ordering: .relaxed) {
                    loop = mosquitto_loop(handle, 100, 1)
                }
                if stopping.load(ordering: .relaxed) { break }
                if state.withLock({ hadSession && lastRefusal == nil }) {
                    // The connection had been up: start the backoff afresh.
                    delay = configuration.reconnectMinDelay
                }
                warnFailure("connection lost; reconnecting", reason: state.withLock { lastRefusal } ?? MQTTError.errorText(loop))
            } else {
                warnFailure("cannot connect; retrying", reason: MQTTError.errorText(rc))
            }
            state.withLock { hadSession = false }
            // Equal jitter: half the delay fixed, half random, so a fleet does not reconnect in step.
            let pause = delay / 2 + Double.random(in: 0...(delay / 2))
            let deadline = MonotonicClock.now() + pause
            state.withLock {
                while !stopping.load(ordering: .relaxed) && MonotonicClock.now() < deadline { state.wait(until: deadline) }
            }
            delay = min(delay * 2, configuration.reconnectMaxDelay)
        }
        // Let the DISCONNECT go out.
        _ = mosquitto_loop(handle, 10, 1)
        state.withLock {
            connected = false
            subscribed = false
            state.broadcast()
        }
    }

    /// A connection failure: a warning at most once a minute.
    private func warnFailure(_ message: Logger.Message, reason: String) {
        logger.log(.warning, message, limit: &failures, metadata: ["reason": "\(reason)"])
    }

    // MARK: Callbacks (network thread)

    private func didConnect(_ rc: Int32) {
        guard rc == 0 else {
            let reason = String(cString: mosquitto_connack_string(rc))
            state.withLock { lastRefusal = "broker refused the connection: \(reason)" }
            warnFailure("the broker refused the connection", reason: reason)
            mosquitto_disconnect(handle)
            return
        }
        state.withLock {
            connected = true
            connections += 1
            hadSession = true
            lastRefusal = nil
            subscribed = configuration.subscriptions.isEmpty
            state.broadcast()
        }
        logger.info("connected", metadata: ["client_id": "\(configuration.clientID)"])
        guard !configuration.subscriptions.isEmpty else { return publishBirth() }
        var messageID: Int32 = 0
        let filters = configuration.subscriptions.map { strdup($0.filter) }
        defer { filters.forEach { free($0) } }
        // One SUBSCRIBE per QoS level, all filters of that level together.
        for qos in Set(configuration.subscriptions.map(\.qos)).sorted() {
            var selected = zip(configuration.subscriptions, filters).filter { $0.0.qos == qos }.map { $0.1 }
            let rc = selected.withUnsafeMutableBufferPointer { buffer in
                mosquitto_subscribe_multiple(handle, &messageID, Int32(buffer.count), buffer.baseAddress, qos, 0, nil)
            }
            if rc != MOSQ_ERR_SUCCESS.rawValue {
                logger.error("subscribe failed", metadata: ["reason": "\(MQTTError.errorText(rc))"])
            }
            state.withLock { subscribeMessageID = messageID }
        }
    }

    private func didSubscribe(_ messageID: Int32, _ granted: [Int32]) {
        if granted.contains(0x80) {
            logger.error("the broker refused a subscription", metadata: ["filters": "\(configuration.subscriptions.map(\.filter).joined(separator: " "))"])
        }
        let done = state.withLock {
            guard messageID == subscribeMessageID else { return false }
            subscribed = true
            state.broadcast()
            return true
        }
        guard done else { return }
        logger.info("subscribed", metadata: ["filters": "\(configuration.subscriptions.map(\.filter).joined(separator: " "))"])
        publishBirth()
    }

    /// Says the client is online once it is subscribed: whoever acts on the birth (a Sparkplug edge
    /// node seeing its host's STATE) finds the subscriptions in place.
    private func publishBirth() {
        guard let birth = configuration.birth else { return }
        do {
            try publish(topic: birth.topic, payload: birth.payload, qos: birth.qos, retain: birth.retain)
        } catch {
            logger.error("cannot publish the birth message", metadata: ["topic": "\(birth.topic)", "reason": "\(error)"])
        }
    }

    private func didDisconnect(_ rc: Int32) {
        state.withLock {
            connected = false
            subscribed = false
            state.broadcast()
        }
    }

    private func didPublish() {
        state.withLock {
            unacknowledged -= 1
            // Waiters wait for zero or for a multiple of 1,024 (`waitForPublished(atMost:)`).
            if unacknowledged % 1_024 == 0 { state.broadcast() }
        }
    }

    // MARK: Publishing and waiting

    /// Queues a message; libmosquitto sends it and, at QoS 1 or 2, retries until acknowledged,
    /// across reconnects: published while the connection is down, it is queued and sent once the
    /// client is back (libmosquitto says "not connected" but keeps it). Use `waitForPublished` to
    /// wait for the acknowledgements.
    public func publish(topic: String, payload: UnsafeRawBufferPointer, qos: Int32 = 1, retain: Bool = false) throws(MQTTError) {
        state.withLock { unacknowledged += 1 }
        let rc = mosquitto_publish(handle, nil, topic, Int32(payload.count), payload.baseAddress, qos, retain)
        if rc != MOSQ_ERR_SUCCESS.rawValue && !(rc == MOSQ_ERR_NO_CONN.rawValue && qos > 0) {
            state.withLock { unacknowledged -= 1 }
            throw .library(operation: "publishing to \(topic)", code: rc, message: MQTTError.errorText(rc))
        }
    }

    /// Publishes bytes.
    public func publish(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false) throws(MQTTError) {
        let result = payload.withUnsafeBytes { bytes in
            Result { () throws(MQTTError) in try publish(topic: topic, payload: bytes, qos: qos, retain: retain) }
        }
        try result.get()
    }

    /// Publishes a UTF-8 string.
    public func publish(topic: String, text: String, qos: Int32 = 1, retain: Bool = false) throws(MQTTError) {
        try publish(topic: topic, payload: Array(text.utf8), qos: qos, retain: retain)
    }

    /// Waits until every published message has been sent (QoS 0) or acknowledged (QoS 1, 2), or
    /// with `atMost` (a multiple of 1,024) until no more than that many are outstanding: a
    /// publisher's back-pressure when the broker is slower than it.
    @discardableResult
    public func waitForPublished(atMost limit: Int = 0, timeout: Double) -> Bool {
        precondition(limit % 1_024 == 0, "the limit must be a multiple of 1,024")
        return wait(timeout: timeout) { unacknowledged <= limit }
    }

    /// Messages published and not yet sent or acknowledged.
    public var outstanding: Int { state.withLock { unacknowledged } }

    /// Waits until connected and every subscription is acknowledged.
    @discardableResult
    public func waitUntilReady(timeout: Double) -> Bool {
        wait(timeout: timeout) { connected && subscribed }
    }

    /// Whether the client is connected now.
    public var isConnected: Bool { state.withLock { connected } }

    /// Connections made so far: it changes on every reconnect.
    public var connectionCount: Int { state.withLock { connections } }

    private func wait(timeout: Double, until predicate: () -> Bool) -> Bool {
        let deadline = MonotonicClock.now() + timeout
        return state.withLock {
            while !predicate() {
                if MonotonicClock.now() >= deadline { return false }
                state.wait(until: deadline)
            }
            return true
        }
    }
}
