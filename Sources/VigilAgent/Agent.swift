import VigilCore
import VigilInference
import VigilMQTT
import VigilStore

/// The edge agent: an MQTT subscriber feeding a writer thread that stores every reading in
/// SQLite. `start()` returns at once; `stop()` commits what was received and disconnects.
///
/// Two threads of its own: libmosquitto's network loop copies each message into the inbox, and
/// the writer takes the inbox in batches and commits at least every `commit_interval_ms` and
/// every `commit_max_messages`. A crash can lose only what was received and not yet committed:
/// at most `inbox_capacity + commit_max_messages` messages, normally a few milliseconds' worth.
public final class Agent: @unchecked Sendable {
    public let configuration: AgentConfiguration
    /// The device profiles in use.
    public let profiles: [DeviceProfile]
    /// The MQTT filters subscribed.
    public let subscriptions: [String]
    private let inbox: MessageInbox
    private let client: MQTTClient
    private let ingestor: Ingestor
    private let log: @Sendable (String) -> Void
    private var writer: NativeThread?

    /// Loads the profiles and opens the database; fails with a message naming what is wrong.
    public init(configuration: AgentConfiguration, log: @escaping @Sendable (String) -> Void = AgentLog.standardError) throws {
        self.configuration = configuration
        self.log = log
        profiles = try DeviceProfile.loadAll(folder: configuration.devices)
        subscriptions = configuration.subscriptions(for: profiles)
        inbox = MessageInbox(capacity: configuration.inboxCapacity,
                             maxPayloadBytes: Int(configuration.maxPayloadSize.bytes))
        let store = try AgentStore(path: configuration.database, synchronous: configuration.synchronous)
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
        ingestor = try Ingestor(store: store, profiles: profiles, maxPayloadBytes: Int(configuration.maxPayloadSize.bytes),
                                maxDatabaseBytes: configuration.maxDatabaseSize.bytes,
                                maintenancePrefix: configuration.maintenanceTopicPrefix, models: catalog,
                                alertThreshold: configuration.healthAlertThreshold,
                                healthChanged: { device, prediction in
                                    let payload: JSONValue = [
                                        "device": .string(device), "model": .string(prediction.model),
                                        "version": .string(prediction.version), "state": .string(prediction.predicted),
                                        "probabilities": .array(prediction.probabilities.map(JSONValue.number)),
                                        "window_end": .number(prediction.windowEnd),
                                    ]
                                    try? client.publish(topic: "\(healthPrefix)/\(device)", text: payload.serialized(indent: 0),
                                                        qos: 1, retain: true)
                                }, log: log)
    }

    /// Starts the writer and the connection.
    public func start() {
        log("vigil-agent \(configuration.agentID): \(profiles.count) device profiles, subscribing to \(subscriptions.joined(separator: ", ")), database \(configuration.database)")
        writer = NativeThread(name: "vigil-writer") { [self] in writeLoop() }
        client.start()
    }

    /// Waits until connected and subscribed; for tests and scripts.
    @discardableResult
    public func waitUntilReady(timeout: Double) -> Bool {
        client.waitUntilReady(timeout: timeout)
    }

    /// Disconnects, then lets the writer store and commit everything already received.
    public func stop() {
        client.stop()
        inbox.close()
        writer?.join()
        writer = nil
    }

    private func writeLoop() {
        let interval = Double(configuration.commitIntervalMilliseconds) / 1000
        var batch = MessageBatch()
        while inbox.take(into: &batch, until: ingestor.transactionStart.map { $0 + interval }) {
            do {
                for index in 0..<batch.count {
                    try batch.withMessage(at: index) { topic, payload, entry in
                        try ingestor.ingest(topic: topic, payload: payload, entry: entry, receivedAt: batch.receivedAt)
                    }
                    if ingestor.uncommittedMessages >= configuration.commitMaxMessages {
                        try ingestor.commit()
                    }
                }
                if let start = ingestor.transactionStart, MonotonicClock.now() >= start + interval {
                    try ingestor.commit()
                }
            } catch {
                log("database error, \(ingestor.uncommittedMessages) uncommitted messages lost: \(error)")
                ingestor.rollback()
            }
        }
        do {
            try ingestor.commit()
        } catch {
            log("database error on the final commit: \(error)")
            ingestor.rollback()
        }
    }
}
