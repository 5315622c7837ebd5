import Logging
import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilObservability
import VigilSparkplug
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
    /// With Sparkplug B on: the host application's connection (its STATE, the groups' messages,
    /// rebirth requests).
    private let sparkplugClient: MQTTClient?
    private let transaction: WriterTransaction
    private let ingestor: Ingestor
    /// With upload on: the central connection, its handlers, and the topic bytes that route
    /// to them (compared per message, so kept as bytes).
    private let upstream: (client: MQTTClient, uploader: Uploader, installer: ModelInstaller, ackTopic: [UInt8],
                           releasePrefix: [UInt8])?
    private let logger: Logger
    private let systemd = SystemdNotifier()
    private var writer: NativeThread?
    /// The agent's metrics, and the endpoint serving them when `metrics_listen` is set.
    let metrics: AgentMetrics
    private let metricsServer: MetricsServer?
    /// When the writer next refreshes the gauges read from disk (monotonic seconds).
    private var nextGaugeRefresh = 0.0
    /// Per running model (`profile/name`), when its drift was last reported upstream.
    private var driftReported: [String: Double] = [:]
    /// Fewer scored windows than this say too little about a population to report its drift.
    public static let driftReportMinimumWindows = 100

    /// Loads the profiles, opens the database and binds the metrics address; fails with a
    /// message naming what is wrong.
    public init(configuration: AgentConfiguration, logger: Logger = Logger(label: "vigil-agent")) throws {
        self.configuration = configuration
        self.logger = logger
        let log = logger.component("agent")
        profiles = try DeviceProfile.loadAll(folder: configuration.devices)
        let metrics = AgentMetrics(deviceTypes: profiles.map(\.type), maxDatabaseBytes: configuration.maxDatabaseSize.bytes)
        self.metrics = metrics
        metricsServer = try configuration.metricsListen.map { address throws(MetricsServerError) in
            try MetricsServer(address: address, registry: metrics.registry)
        }
        subscriptions = configuration.subscriptions(for: profiles)
        let settings = configuration.upstream
        inbox = MessageInbox(capacity: configuration.inboxCapacity, maxPayloadBytes: Int(configuration.maxPayloadSize.bytes),
                             limits: settings.map { [($0.topics.releasePrefix + "/", Int($0.maxBundleSize.bytes))] } ?? [])
        transaction = try WriterTransaction(store: AgentStore(path: configuration.database, synchronous: configuration.synchronous,
                                                              maxBytes: configuration.maxDatabaseSize.bytes), metrics: metrics)
        let catalog = ModelCatalog(folder: configuration.models, trustedKeys: configuration.trustedKeys,
                                   maxBundleBytes: ModelBundle.defaultMaxBytes, profiles: profiles)
        for (file, reason) in catalog.refused { log.error("model refused", metadata: ["file": "\(file)", "reason": "\(reason)"]) }
        for (profile, models) in zip(profiles, catalog.models) {
            for model in models {
                log.info("model scores", metadata: ["device_type": "\(profile.type)", "model": "\(model.bundle.manifest.name)",
                                                   "version": "\(model.bundle.manifest.version)"])
            }
        }
        let client = try MQTTClient(configuration: configuration.mqttConfiguration(subscriptions: subscriptions),
                                    inbox: inbox, logger: logger.component("mqtt"))
        self.client = client
        let sparkplugClient: MQTTClient?
        if let settings = configuration.sparkplug {
            sparkplugClient = try MQTTClient(configuration: configuration.sparkplugConfiguration(settings, startedAt: UInt64(WallClock.now() * 1000)),
                                             inbox: inbox, logger: logger.component("sparkplug"))
        } else {
            sparkplugClient = nil
        }
        self.sparkplugClient = sparkplugClient
        let healthPrefix = configuration.healthTopicPrefix
        ingestor = try Ingestor(transaction: transaction, profiles: profiles,
                                maxPayloadBytes: Int(configuration.maxPayloadSize.bytes),
                                clockTolerance: configuration.clockToleranceSeconds > 0 ? configuration.clockToleranceSeconds : nil,
                                maintenancePrefix: configuration.maintenanceTopicPrefix, models: catalog,
                                alertThreshold: configuration.healthAlertThreshold, upload: settings != nil,
                                rawReadings: settings?.rawReadings ?? [:], sparkplug: sparkplugClient != nil,
                                sendRebirth: { topic in
                                    let request = SparkplugPayload.rebirthRequest(timestamp: UInt64(WallClock.now() * 1000))
                                    do {
                                        try sparkplugClient?.publish(topic: topic, payload: request.encoded(), qos: 0)
                                    } catch {
                                        log.error("cannot ask a Sparkplug edge node for its births", metadata: ["topic": "\(topic)", "reason": "\(error)"])
                                    }
                                },
                                healthChanged: { device, payload in
                                    do {
                                        try client.publish(topic: "\(healthPrefix)/\(device)", text: payload.serialized(indent: 0),
                                                           qos: 1, retain: true)
                                    } catch {
                                        log.error("cannot publish a device's health", metadata: ["device": "\(device)", "reason": "\(error)"])
                                    }
                                }, metrics: metrics, logger: logger.component("ingest"))
        if let settings {
            for type in settings.rawReadings.keys where !profiles.contains(where: { $0.type == type }) {
                throw ConfigurationError(file: configuration.devices, field: "",
                                         problem: "upstream.raw_readings names \(type), which no device profile here defines")
            }
            let central = try MQTTClient(configuration: configuration.upstreamConfiguration(settings, deviceTypes: profiles.map(\.type)),
                                         inbox: inbox, logger: logger.component("uplink"))
            let uploader = try Uploader(transaction: transaction, client: central, agent: configuration.agentID, settings: settings,
                                        metrics: metrics, logger: logger.component("upload"))
            let installer = try ModelInstaller(transaction: transaction, ingestor: ingestor, profiles: profiles,
                                               folder: configuration.models, trustedKeys: configuration.trustedKeys,
                                               agent: configuration.agentID, topics: settings.topics, client: central,
                                               metrics: metrics, logger: logger.component("models"))
            try transaction.commit()
            upstream = (central, uploader, installer, Array(settings.topics.ack(agent: configuration.agentID).utf8),
                        Array((settings.topics.releasePrefix + "/").utf8))
        } else {
            upstream = nil
        }
    }

    /// Starts the writer, the connections and the metrics endpoint.
    public func start() {
        var fields: Logger.Metadata = ["agent": "\(configuration.agentID)", "device_profiles": "\(profiles.count)",
                                       "subscriptions": "\(subscriptions.joined(separator: " "))", "database": "\(configuration.database)"]
        if let upstream = configuration.upstream { fields["uploading_to"] = "\(upstream.broker.url)" }
        if let sparkplug = configuration.sparkplug {
            fields["sparkplug_groups"] = "\(sparkplug.groups.joined(separator: " "))"
            fields["sparkplug_host_id"] = "\(sparkplug.hostID)"
        }
        if let metricsServer { fields["metrics"] = "http://\(metricsServer.address)/metrics" }
        logger.component("agent").info("starting", metadata: fields)
        client.start()
        sparkplugClient?.start()
        upstream?.client.start()
        metricsServer?.start()
        // READY=1 before the writer's first watchdog ping; what arrives meanwhile waits in the inbox.
        systemd.ready()
        writer = NativeThread(name: "vigil-writer") { [self] in writeLoop() }
    }

    /// Where `/metrics` is served (with the port the system chose for port 0), if it is.
    public var metricsAddress: ListenAddress? { metricsServer?.address }

    /// Waits until connected and subscribed (to the central broker too with upload on, unless
    /// `upstream` is false); for tests and scripts.
    @discardableResult
    public func waitUntilReady(timeout: Double, upstream waitForUpstream: Bool = true) -> Bool {
        client.waitUntilReady(timeout: timeout) && sparkplugClient?.waitUntilReady(timeout: timeout) ?? true
            && (!waitForUpstream || upstream?.client.waitUntilReady(timeout: timeout) ?? true)
    }

    /// Disconnects from the sensors, lets the writer store and commit everything already
    /// received (and send what that commit releases), then disconnects upstream.
    public func stop() {
        systemd.stopping()
        client.stop()
        sparkplugClient?.stop()
        inbox.close()
        writer?.join()
        writer = nil
        if let upstream {
            upstream.client.waitForPublished(timeout: 2)
            upstream.client.stop()
        }
        metricsServer?.stop()
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
                // A batch formed goes out after the commit that records it: commit now. So does
                // a batch of messages that did not fill while the inbox waited for it: the stream
                // is slower than the writer, and committing at once costs nothing in throughput
                // and keeps publish-to-commit latency at a few milliseconds.
                let formed = try upstream?.uploader.pump() ?? false
                if let start = transaction.start,
                   formed || batch.count < inbox.fillTarget || MonotonicClock.now() >= start + interval {
                    try transaction.commit()
                }
            } catch {
                logger.component("agent").error("database error: the open transaction is rolled back",
                                                metadata: ["messages_lost": "\(ingestor.uncommittedMessages)", "reason": "\(error)"])
                transaction.rollback()
            }
            refreshGauges()
        }
        do {
            try upstream?.uploader.stopping()
            try transaction.commit()
        } catch {
            logger.component("agent").error("database error on the final commit", metadata: ["reason": "\(error)"])
            transaction.rollback()
        }
    }

    /// Once a second: the database's size on disk, the outbox backlog, the models running and
    /// their input drift, reported upstream too.
    private func refreshGauges() {
        let now = MonotonicClock.now()
        guard now >= nextGaugeRefresh else { return }
        nextGaugeRefresh = now + 1
        let store = transaction.store
        metrics.setStore(bytes: store.bytesOnDisk, outbox: upstream == nil ? nil : try? store.outboxRows())
        var running: [(deviceType: String, model: String, version: String)] = []
        for (profile, models) in zip(profiles, ingestor.scoring.catalog.models) {
            for model in models { running.append((profile.type, model.bundle.manifest.name, model.bundle.manifest.version)) }
        }
        metrics.setRunning(running)
        let drifts = ingestor.scoring.drifts
        metrics.setDrift(drifts)
        if let upstream, let settings = configuration.upstream { reportDrift(drifts, client: upstream.client, settings: settings, now: now) }
    }

    /// Each running model's input drift, retained on the central broker (`DriftReport`) once it
    /// has scored enough windows, then every `upstream.drift_report_seconds`.
    private func reportDrift(_ drifts: [ModelScoring.Drift], client: MQTTClient, settings: AgentConfiguration.Upstream, now: Double) {
        for drift in drifts where drift.windows >= Self.driftReportMinimumWindows {
            let key = "\(drift.profile)/\(drift.model)"
            guard now >= (driftReported[key] ?? -.infinity) + settings.driftReportInterval else { continue }
            driftReported[key] = now
            let type = profiles[drift.profile].type
            let report = DriftReport(agent: configuration.agentID, deviceType: type, model: drift.model, version: drift.version,
                                     windows: drift.windows, psi: Array(zip(drift.inputs, drift.psi)))
            do {
                try client.publish(topic: settings.topics.drift(agent: configuration.agentID, deviceType: type), payload: report.encoded(),
                                   qos: 1, retain: true)
            } catch {
                logger.component("agent").error("cannot send a drift report", metadata: ["device_type": "\(type)", "reason": "\(error)"])
            }
        }
    }

    /// When the writer must wake at the latest: the open transaction's commit, the gauges'
    /// refresh, with upload on the uploader's next look at its batches, under systemd the next
    /// watchdog ping.
    private func deadline(_ interval: Double) -> Double? {
        var due = min(transaction.start.map { $0 + interval } ?? .infinity, nextGaugeRefresh)
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
