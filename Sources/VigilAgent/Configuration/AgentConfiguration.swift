import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT
import VigilObservability
import VigilSparkplug
import VigilStore

/// The agent's JSON config file. Every field but `broker.url` has a default; unknown fields are
/// refused, and every error names the field. Relative paths are relative to the config file.
public struct AgentConfiguration: Sendable {
    /// This agent's name: the default MQTT client id, and its name upstream.
    public var agentID: String
    public var broker: Broker
    /// Subscription filters; by default, the ones the device profiles' topic patterns give.
    public var topics: [String]?
    /// Where the agent says it is online (retained, on every connect) or offline (its will,
    /// sent by the broker if the agent vanishes, by the agent when it stops).
    public var statusTopic: String
    /// Maintenance events (faults, repairs: the labels) arrive on `<prefix>/<device>`.
    public var maintenanceTopicPrefix: String
    /// The SQLite file.
    public var database: String
    /// The folder of device profiles (`*.json`).
    public var devices: String
    /// A commit happens at least this often while messages arrive: the crash window in time.
    public var commitIntervalMilliseconds: Int
    /// A commit happens at least every this many messages: the crash window in messages.
    public var commitMaxMessages: Int
    /// Messages the network thread may hand over before it waits for the writer.
    public var inboxCapacity: Int
    /// The database is kept under this size by deleting the oldest raw readings.
    public var maxDatabaseSize: ByteSize
    /// Payloads larger than this are refused as `oversized`.
    public var maxPayloadSize: ByteSize
    /// SQLite durability level.
    public var synchronous: Database.Synchronous
    /// The folder of model bundles (`*.vgm`) the agent runs.
    public var models: String
    /// Ed25519 public keys (hex) whose signatures the agent trusts on model bundles.
    public var trustedKeys: [[UInt8]]
    /// Predicted health goes to `<health_topic_prefix>/<device>`, retained, when it changes.
    public var healthTopicPrefix: String
    /// A health message also goes out when the probability of trouble crosses this, either way.
    public var healthAlertThreshold: Double?
    /// Seconds a device's timestamps may run ahead of the agent's clock before the device counts
    /// as clock-skewed; 0: clocks are not judged (simulated time, say).
    public var clockToleranceSeconds: Double
    /// The central broker: upload and model updates. Absent: no upload, models from the folder only.
    public var upstream: Upstream?
    /// Where `/metrics` is served for Prometheus (`"127.0.0.1:9464"`). Absent: not served.
    public var metricsListen: ListenAddress?
    /// Sparkplug B edge nodes to follow as a host application. Absent: none.
    public var sparkplug: Sparkplug?

    /// Sparkplug B settings: the groups whose edge nodes the agent follows (`spBv1.0/<group>/#`,
    /// on the sensors' broker) and the host id under which it says it is online (STATE).
    public struct Sparkplug: Sendable {
        public var groups: [String]
        public var hostID: String

        init(_ reader: JSONObjectReader, agentID: String) throws(ConfigurationError) {
            groups = try reader.strings("groups")
            hostID = try reader.optionalString("host_id") ?? agentID
            try reader.rejectUnknownFields()
            guard !groups.isEmpty else { throw reader.error("groups", "must name at least one Sparkplug group") }
            for (field, name) in groups.map({ ("groups", $0) }) + [("host_id", hostID)] where !TopicPattern.isPlainSegment(name) {
                throw reader.error(field, "\"\(name)\" must be a non-empty name without '/', '+', '#', '{' or '}'")
            }
        }

        /// The filters the Sparkplug connection subscribes.
        public var subscriptions: [String] { groups.map { "\(SparkplugTopic.namespace)/\($0)/#" } }
    }

    /// Fleet sync settings: the central broker's connection (the same fields as `broker`) and
    /// how batches and releases travel.
    public struct Upstream: Sendable {
        public var broker: Broker
        public var topics: FleetTopics
        /// Outbox rows per batch.
        public var batchRows: Int
        /// Batches sent and not yet acknowledged, at most.
        public var maxInFlight: Int
        /// Seconds after which an unacknowledged batch is sent again.
        public var ackTimeout: Double
        /// Model bundles larger than this are refused (sensor payloads keep `max_payload_size`).
        public var maxBundleSize: ByteSize
        /// Raw readings uploaded per device type; a type not named uploads none.
        public var rawReadings: [String: RawReadings]
        /// Seconds between drift reports (`DriftReport`) of each running model.
        public var driftReportInterval: Double

        init(_ reader: JSONObjectReader) throws(ConfigurationError) {
            var topics = FleetTopics()
            topics.upstreamPrefix = try reader.optionalString("topic_prefix") ?? topics.upstreamPrefix
            topics.releasePrefix = try reader.optionalString("release_prefix") ?? topics.releasePrefix
            topics.agentPrefix = try reader.optionalString("report_prefix") ?? topics.agentPrefix
            self.topics = topics
            batchRows = try reader.optionalInteger("batch_rows") ?? 5_000
            maxInFlight = try reader.optionalInteger("max_in_flight") ?? 4
            ackTimeout = try reader.optionalDouble("ack_timeout") ?? 30
            driftReportInterval = try reader.optionalDouble("drift_report_seconds") ?? 600
            maxBundleSize = try ByteSize.read("max_bundle_size", of: reader, default: ByteSize(bytes: 16 << 20))
            rawReadings = [:]
            if let value = reader.value("raw_readings") {
                guard case .object(let types) = value else {
                    throw reader.error("raw_readings", "expected an object of device types, got \(value.kindName)")
                }
                for (type, mode) in types {
                    rawReadings[type] = try RawReadings(mode, field: "raw_readings.\(type)", reader: reader)
                }
            }
            guard (1...100_000).contains(batchRows) else { throw reader.error("batch_rows", "must be 1 to 100000, got \(batchRows)") }
            guard (1...64).contains(maxInFlight) else { throw reader.error("max_in_flight", "must be 1 to 64, got \(maxInFlight)") }
            guard ackTimeout > 0 else { throw reader.error("ack_timeout", "must be positive, got \(ackTimeout)") }
            guard driftReportInterval > 0 else { throw reader.error("drift_report_seconds", "must be positive, got \(driftReportInterval)") }
            for (field, prefix) in [("topic_prefix", topics.upstreamPrefix), ("release_prefix", topics.releasePrefix),
                                    ("report_prefix", topics.agentPrefix)]
            where prefix.isEmpty || prefix.contains(where: { $0 == "+" || $0 == "#" }) {
                throw reader.error(field, "\"\(prefix)\" must be a topic without wildcards")
            }
            broker = try Broker(reader)
        }
    }

    /// Connection settings.
    public struct Broker: Sendable {
        public var url: BrokerURL
        public var clientID: String?
        public var username: String?
        public var password: String?
        /// false (the default) keeps a persistent session, so QoS 1 messages wait for us.
        public var cleanSession: Bool
        public var keepAlive: Int32
        /// QoS of the subscriptions.
        public var qos: Int32
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var reconnectMinDelay: Double
        public var reconnectMaxDelay: Double

        init(_ reader: JSONObjectReader) throws(ConfigurationError) {
            let text = try reader.string("url")
            do {
                url = try BrokerURL(parsing: text)
            } catch {
                throw reader.error("url", error.description)
            }
            clientID = try reader.optionalString("client_id")
            username = try reader.optionalString("username")
            password = try reader.optionalString("password")
            cleanSession = try reader.optionalBool("clean_session") ?? false
            let keepAlive = try reader.optionalInteger("keep_alive") ?? 30
            let qos = try reader.optionalInteger("qos") ?? 1
            caFile = try reader.optionalString("ca_file")
            certFile = try reader.optionalString("cert_file")
            keyFile = try reader.optionalString("key_file")
            reconnectMinDelay = try reader.optionalDouble("reconnect_min_delay") ?? 0.5
            reconnectMaxDelay = try reader.optionalDouble("reconnect_max_delay") ?? 30
            try reader.rejectUnknownFields()

            guard (0...2).contains(qos) else { throw reader.error("qos", "must be 0, 1 or 2, got \(qos)") }
            guard (5...3600).contains(keepAlive) else {
                throw reader.error("keep_alive", "must be 5 to 3600 seconds, got \(keepAlive)")
            }
            self.qos = Int32(qos)
            self.keepAlive = Int32(keepAlive)
            guard reconnectMinDelay > 0 else {
                throw reader.error("reconnect_min_delay", "must be positive, got \(reconnectMinDelay)")
            }
            guard reconnectMaxDelay >= reconnectMinDelay else {
                throw reader.error("reconnect_max_delay", "must be at least reconnect_min_delay (\(reconnectMinDelay))")
            }
            guard (certFile == nil) == (keyFile == nil) else {
                throw reader.error(certFile == nil ? "cert_file" : "key_file", "a client certificate needs both cert_file and key_file")
            }
            if !url.tls, let field = caFile != nil ? "ca_file" : certFile != nil ? "cert_file" : nil {
                throw reader.error(field, "TLS files need an mqtts:// url")
            }
            if password != nil && username == nil {
                throw reader.error("password", "a password needs a username")
            }
        }
    }

    /// Reads the config from its file's top-level object.
    init(_ reader: JSONObjectReader) throws(ConfigurationError) {
        agentID = try reader.optionalString("agent_id") ?? "vigil-agent"
        broker = try Broker(reader.object("broker"))
        topics = try reader.optionalStrings("topics")
        statusTopic = try reader.optionalString("status_topic") ?? "vigil/\(agentID)/status"
        maintenanceTopicPrefix = try reader.optionalString("maintenance_topic_prefix") ?? "vigil/maintenance"
        database = try reader.optionalString("database") ?? "vigil.db"
        devices = try reader.optionalString("devices") ?? "devices"
        commitIntervalMilliseconds = try reader.optionalInteger("commit_interval_ms") ?? 50
        commitMaxMessages = try reader.optionalInteger("commit_max_messages") ?? 5_000
        inboxCapacity = try reader.optionalInteger("inbox_capacity") ?? 10_000
        maxDatabaseSize = try ByteSize.read("max_database_size", of: reader, default: ByteSize(bytes: 1 << 30))
        maxPayloadSize = try ByteSize.read("max_payload_size", of: reader, default: ByteSize(bytes: 256 << 10))
        synchronous = try reader.choice("synchronous", default: .normal)
        models = try reader.optionalString("models") ?? "models"
        var keys: [[UInt8]] = []
        for (index, text) in (try reader.optionalStrings("trusted_keys") ?? []).enumerated() {
            guard let key = ModelBundle.bytes(hex: text), key.count == 32 else {
                throw reader.error("trusted_keys[\(index)]", "expected the hex of a 32-byte Ed25519 public key")
            }
            keys.append(key)
        }
        trustedKeys = keys
        healthTopicPrefix = try reader.optionalString("health_topic_prefix") ?? "vigil/\(agentID)/health"
        healthAlertThreshold = try reader.optionalDouble("health_alert_threshold")
        if let threshold = healthAlertThreshold, !(0 < threshold && threshold < 1) {
            throw reader.error("health_alert_threshold", "must be between 0 and 1, got \(threshold)")
        }
        clockToleranceSeconds = try reader.optionalDouble("clock_tolerance_seconds") ?? 60
        guard clockToleranceSeconds >= 0 else {
            throw reader.error("clock_tolerance_seconds", "must be 0 (off) or more, got \(clockToleranceSeconds)")
        }
        upstream = reader.value("upstream") == nil ? nil : try Upstream(reader.object("upstream"))
        sparkplug = reader.value("sparkplug") == nil ? nil : try Sparkplug(reader.object("sparkplug"), agentID: agentID)
        if let text = try reader.optionalString("metrics_listen") {
            do {
                metricsListen = try ListenAddress(parsing: text)
            } catch {
                throw reader.error("metrics_listen", "\(error)")
            }
        }
        try reader.rejectUnknownFields()

        guard TopicPattern.isPlainSegment(agentID) else {
            throw reader.error("agent_id", "\"\(agentID)\" must be a non-empty name without '/', '+', '#', '{' or '}'")
        }
        guard !statusTopic.isEmpty, !statusTopic.contains(where: { $0 == "+" || $0 == "#" }) else {
            throw reader.error("status_topic", "\"\(statusTopic)\" must be a topic without wildcards")
        }
        guard TopicPattern.isPlainSegment(maintenanceTopicPrefix.replacing("/", with: "_")) else {
            throw reader.error("maintenance_topic_prefix", "\"\(maintenanceTopicPrefix)\" must be a topic without wildcards")
        }
        if let topics, topics.isEmpty || topics.contains(where: \.isEmpty) {
            throw reader.error("topics", "must list non-empty topic filters, or be left out to follow the device profiles")
        }
        guard (1...60_000).contains(commitIntervalMilliseconds) else {
            throw reader.error("commit_interval_ms", "must be 1 to 60000, got \(commitIntervalMilliseconds)")
        }
        guard commitMaxMessages >= 1 else {
            throw reader.error("commit_max_messages", "must be at least 1, got \(commitMaxMessages)")
        }
        guard inboxCapacity >= 1 else {
            throw reader.error("inbox_capacity", "must be at least 1, got \(inboxCapacity)")
        }
        guard maxDatabaseSize.bytes >= 1 << 20 else {
            throw reader.error("max_database_size", "must be at least 1 MiB, got \(maxDatabaseSize)")
        }
        guard maxPayloadSize.bytes >= 1024 else {
            throw reader.error("max_payload_size", "must be at least 1 KiB, got \(maxPayloadSize)")
        }
    }

    /// Reads and validates the config at `path`, resolving relative paths against its folder.
    public static func load(file path: String) throws(ConfigurationError) -> AgentConfiguration {
        var configuration = try AgentConfiguration(JSONObjectReader(file: path))
        let folder = FileSystem.folder(of: path)
        func resolve(_ file: String) -> String { FileSystem.resolve(file, against: folder) }
        configuration.database = resolve(configuration.database)
        configuration.devices = resolve(configuration.devices)
        configuration.models = resolve(configuration.models)
        configuration.broker.caFile = configuration.broker.caFile.map(resolve)
        configuration.broker.certFile = configuration.broker.certFile.map(resolve)
        configuration.broker.keyFile = configuration.broker.keyFile.map(resolve)
        if var upstream = configuration.upstream {
            upstream.broker.caFile = upstream.broker.caFile.map(resolve)
            upstream.broker.certFile = upstream.broker.certFile.map(resolve)
            upstream.broker.keyFile = upstream.broker.keyFile.map(resolve)
            configuration.upstream = upstream
        }
        return configuration
    }

    /// The filters the agent subscribes: `topics`, or the profiles' patterns, and maintenance events.
    public func subscriptions(for profiles: [DeviceProfile]) -> [String] {
        (topics ?? TopicRouter(profiles: profiles).subscriptions) + [maintenanceTopicPrefix + "/+"]
    }

    /// The MQTT settings for the agent's subscriber connection.
    func mqttConfiguration(subscriptions: [String]) -> MQTTConfiguration {
        broker.connection(clientID: broker.clientID ?? agentID, presence: presence,
                          subscriptions: subscriptions.map { .init($0, qos: broker.qos) })
    }

    /// The MQTT settings for the Sparkplug B host application's connection to the sensors' broker:
    /// a session of its own (Sparkplug data is not queued for an absent host; births are asked
    /// for again), whose will and birth are the host's STATE, retained, stamped `startedAt` (ms).
    func sparkplugConfiguration(_ sparkplug: Sparkplug, startedAt: UInt64) -> MQTTConfiguration {
        broker.connection(clientID: "\(broker.clientID ?? agentID)-sparkplug", cleanSession: true,
                          presence: (SparkplugTopic.state(hostID: sparkplug.hostID),
                                     SparkplugTopic.statePayload(online: true, timestamp: startedAt),
                                     SparkplugTopic.statePayload(online: false, timestamp: startedAt)),
                          subscriptions: sparkplug.subscriptions.map { .init($0, qos: broker.qos) })
    }

    /// The MQTT settings for the upstream connection: a persistent session of its own, the
    /// agent's acks and the release topics of its device types.
    func upstreamConfiguration(_ upstream: Upstream, deviceTypes: [String]) -> MQTTConfiguration {
        let filters = [upstream.topics.ack(agent: agentID)]
            + deviceTypes.flatMap { [upstream.topics.bundle(deviceType: $0), upstream.topics.rule(deviceType: $0)] }
        return upstream.broker.connection(clientID: upstream.broker.clientID ?? "\(agentID)-upstream", presence: presence,
                                          subscriptions: filters.map { .init($0, qos: 1) })
    }

    /// The agent's retained status: online after every connect, offline as its will.
    private var presence: (topic: String, online: [UInt8], offline: [UInt8]) {
        (statusTopic, AgentPresence(agent: agentID, online: true).encoded(), AgentPresence(agent: agentID, online: false).encoded())
    }
}

extension AgentConfiguration.Broker {
    /// A connection to this broker as `clientID` (its own `clean_session` unless given), saying
    /// `presence.online` on its topic once subscribed and leaving `presence.offline` as its will.
    func connection(clientID: String, cleanSession: Bool? = nil, presence: (topic: String, online: [UInt8], offline: [UInt8]),
                    subscriptions: [MQTTConfiguration.Subscription]) -> MQTTConfiguration {
        MQTTConfiguration(
            url: url, clientID: clientID, username: username, password: password,
            cleanSession: cleanSession ?? self.cleanSession, keepAlive: keepAlive,
            tls: .init(caFile: caFile, certFile: certFile, keyFile: keyFile),
            will: .init(topic: presence.topic, payload: presence.offline),
            birth: .init(topic: presence.topic, payload: presence.online),
            subscriptions: subscriptions,
            reconnectMinDelay: reconnectMinDelay, reconnectMaxDelay: reconnectMaxDelay)
    }
}
