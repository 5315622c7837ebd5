import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilStore

/// The edge agent: an MQTT subscriber feeding a writer thread that stores every reading in
/// SQLite, and, with `upstream` configured, a second connection to the central broker that
/// uploads the outbox and receives acks and model releases. `start()` returns at once; `stop()`
/// commits what was received and disconnects.
///
/// libmosquitto's network threads copy each message into one inbox; the writer takes it in
/// batches and dispatches each message by topic to its handler (ingest, the uploader's acks,
/// the model installer's releases), all in one transaction committed at least every
/// `commit_interval_ms` and every `commit_max_messages`. A crash can lose only what was
/// received and not yet committed: at most `2 x inbox_capacity + commit_max_messages` messages
/// (the batch being written, up to `inbox_capacity`, whose uncommitted part joins at most
/// `commit_max_messages` of earlier ones, and an inbox filled again meanwhile), normally a few
/// milliseconds' worth.
public final class Agent: @unchecked Sendable {
    public let configuration: AgentConfiguration
    /// The device profiles in use.
    public let profiles: [DeviceProfile]
    /// The MQTT filters subscribed.
    public let subscriptions: [String]
    private let inbox: MessageInbox
    private let client: MQTTClient
    private let transaction: WriterTransaction
    private let ingestor: Ingestor
    /// With upload on: the central connection, its handlers, and the topic bytes that route
    /// to them (compared per message, so kept as bytes).
    private let upstream: (client: MQTTClient, uploader: Uploader, installer: ModelInstaller, ackTopic: [UInt8],
                           releasePrefix: [UInt8])?
    private let log: @Sendable (String) -> Void
    private let systemd = SystemdNotifier()
    private var writer: NativeThread?

    /// Loads the profiles and opens the database; fails with a message naming what is wrong.
    public init(configuration: AgentConfiguration, log: @escaping @Sendable (String) -> Void = AgentLog.standardError) throws {
        self.configuration = configuration
        self.log = log
        profiles = try DeviceProfile.loadAll(folder: configuration.devices)
        subscriptions = configuration.subscriptions(for: profiles)
        let settings = configuration.upstream
        inbox = MessageInbox(capacity: configuration.inboxCapacity, maxPayloadBytes: Int(configuration.maxPayloadSize.bytes),
                             limits: settings.map { [($0.topics.releasePrefix + "/", Int($0.maxBundleSize.bytes))] } ?? [])
        transaction = try WriterTransaction(store: AgentStore(path: configuration.database, synchronous: configuration.synchronous,
                                                              maxBytes: configuration.maxDatabaseSize.bytes))
        let catalog = ModelCatalog(folder: configuration.models, trustedKeys: configuration.trustedKeys,
                                   maxBundleBytes: ModelBundle.defaultMaxBytes, profiles: profiles)
        for (file, reason) in catalog.refused { log("model \(file) refused: \(reason)") }
        for (profile, models) in zip(profiles, catalog.models) {
            for model in models { log("model \(model.bundle.manifest.name) \(model.bundle.manifest.version) scores \(profile.type)") }
        }
        let client = try MQTTClient(configuration: configuration.mqttConfiguration(subscriptions: subscriptions),
                                    inbox: inbox, log: log)
        self.client = client
        let healthPrefix = configuration.healthTopicPrefix
        ingestor = try Ingestor(transaction: transaction, profiles: profiles,
                                maxPayloadBytes: Int(configuration.maxPayloadSize.bytes),
                                maintenancePrefix: configuration.maintenanceTopicPrefix, models: catalog,
                                alertThreshold: configuration.healthAlertThreshold, upload: settings != nil,
                                rawReadings: settings?.rawReadings ?? [:],
                                healthChanged: { device, prediction in
                                    let payload: JSONValue = [
                                        "device": .string(device), "model": .string(prediction.model),
                                        "version": .string(prediction.version), "state": .string(prediction.predicted),
                                        "probabilities": .array(prediction.probabilities.map(JSONValue.number)),
                                        "window_end": .number(prediction.windowEnd),
                                    ]
                                    do {
                                        try client.publish(topic: "\(healthPrefix)/\(device)", text: payload.serialized(indent: 0),
                                                           qos: 1, retain: true)
                                    } catch {
                                        log("cannot publish the health of \(device): \(error)")
                                    }
                                }, log: log)
        if let settings {
            for type in settings.rawReadings.keys where !profiles.contains(where: { $0.type == type }) {
                throw ConfigurationError(file: configuration.devices, field: "",
                                         problem: "upstream.raw_readings names \(type), which no device profile here defines")
            }
            let central = try MQTTClient(configuration: configuration.upstreamConfiguration(settings, deviceTypes: profiles.map(\.type)),
                                         inbox: inbox, log: { log("upstream: \($0)") })
            let uploader = try Uploader(transaction: transaction, client: central, agent: configuration.agentID, settings: settings,
                                        log: log)
            let installer = try ModelInstaller(transaction: transaction, ingestor: ingestor, profiles: profiles,
                                               folder: configuration.models, trustedKeys: configuration.trustedKeys,
                                               agent: configuration.agentID, topics: settings.topics, client: central, log: log)
            try transaction.commit()
            upstream = (central, uploader, installer, Array(settings.topics.ack(agent: configuration.agentID).utf8),
                        Array((settings.topics.releasePrefix + "/").utf8))
        } else {
            upstream = nil
        }
    }

    /// Starts the writer and the connections.
    public func start() {
        log("vigil-agent \(configuration.agentID): \(profiles.count) device profiles, subscribing to \(subscriptions.joined(separator: ", ")), database \(configuration.database)\(configuration.upstream.map { ", uploading to \($0.broker.url)" } ?? "")")
        writer = NativeThread(name: "vigil-writer") { [self] in writeLoop() }
        client.start()
        upstream?.client.start()
        systemd.ready()
    }

    /// Waits until connected and subscribed (to the central broker too with upload on, unless
    /// `upstream` is false); for tests and scripts.
    @discardableResult
    public func waitUntilReady(timeout: Double, upstream waitForUpstream: Bool = true) -> Bool {
        client.waitUntilReady(timeout: timeout) && (!waitForUpstream || upstream?.client.waitUntilReady(timeout: timeout) ?? true)
    }

    /// Disconnects from the sensors, lets the writer store and commit everything already
    /// received (and send what that commit releases), then disconnects upstream.
    public func stop() {
        systemd.stopping()
        client.stop()
        inbox.close()
        writer?.join()
        writer = nil
        if let upstream {
            upstream.client.waitForPublished(timeout: 2)
            upstream.client.stop()
        }
    }

    private func writeLoop() {
        let interval = Double(configuration.commitIntervalMilliseconds) / 1000
        var batch = MessageBatch()
        while inbox.take(into: &batch, until: deadline(interval)) {
            systemd.watchdog()
            do {
                for index in 0..<batch.count {
                    try batch.withMessage(at: index) { topic, payload, entry in
                        try dispatch(topic: topic, payload: payload, entry: entry, receivedAt: batch.receivedAt)
                    }
                    // The WAL holds the open transaction: commit before it outgrows its share.
                    if ingestor.uncommittedMessages >= configuration.commitMaxMessages
                        || Int64(ingestor.uncommittedBytes) >= transaction.store.walLimit / 4 {
                        try transaction.commit()
                    }
                }
                // A batch formed goes out after the commit that records it: commit now.
                let formed = try upstream?.uploader.pump() ?? false
                if let start = transaction.start, formed || MonotonicClock.now() >= start + interval {
                    try transaction.commit()
                }
            } catch {
                log("database error, \(ingestor.uncommittedMessages) uncommitted messages lost: \(error)")
                transaction.rollback()
            }
        }
        do {
            try upstream?.uploader.stopping()
            try transaction.commit()
        } catch {
            log("database error on the final commit: \(error)")
            transaction.rollback()
        }
    }

    /// When the writer must wake at the latest: the open transaction's commit, with upload on
    /// the uploader's next look at its batches, under systemd the next watchdog ping.
    private func deadline(_ interval: Double) -> Double? {
        var due = transaction.start.map { $0 + interval } ?? .infinity
        if let upstream { due = min(due, upstream.uploader.nextDue) }
        if let ping = systemd.nextPing { due = min(due, ping) }
        return due.isFinite ? due : nil
    }

    /// Sends a message to its handler: acks to the uploader, releases to the model installer,
    /// everything else to ingest.
    private func dispatch(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, entry: MessageBatch.Entry,
                          receivedAt: Double) throws(SQLiteError) {
        if let upstream {
            if topic.elementsEqual(upstream.ackTopic) {
                return try upstream.uploader.handleAck(Array(payload))
            }
            if topic.starts(with: upstream.releasePrefix) {
                return try upstream.installer.handle(topic: String(decoding: topic, as: UTF8.self), payload: Array(payload),
                                                     size: entry.payloadSize)
            }
        }
        try ingestor.ingest(topic: topic, payload: payload, entry: entry, receivedAt: receivedAt)
    }
}
