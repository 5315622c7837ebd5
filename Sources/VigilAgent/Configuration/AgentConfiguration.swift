import FoundationEssentials
import VigilCore
import VigilMQTT
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

    /// Connection settings.
    public struct Broker: Sendable, Decodable {
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

        enum CodingKeys: String, CodingKey, CaseIterable {
            case url, username, password, qos
            case clientID = "client_id"
            case cleanSession = "clean_session"
            case keepAlive = "keep_alive"
            case caFile = "ca_file"
            case certFile = "cert_file"
            case keyFile = "key_file"
            case reconnectMinDelay = "reconnect_min_delay"
            case reconnectMaxDelay = "reconnect_max_delay"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let text = try container.decode(String.self, forKey: .url)
            do {
                url = try BrokerURL(parsing: text)
            } catch {
                throw decoder.invalid(CodingKeys.url, error.description)
            }
            clientID = try container.decodeIfPresent(String.self, forKey: .clientID)
            username = try container.decodeIfPresent(String.self, forKey: .username)
            password = try container.decodeIfPresent(String.self, forKey: .password)
            cleanSession = try container.decodeIfPresent(Bool.self, forKey: .cleanSession) ?? false
            keepAlive = try container.decodeIfPresent(Int32.self, forKey: .keepAlive) ?? 30
            qos = try container.decodeIfPresent(Int32.self, forKey: .qos) ?? 1
            caFile = try container.decodeIfPresent(String.self, forKey: .caFile)
            certFile = try container.decodeIfPresent(String.self, forKey: .certFile)
            keyFile = try container.decodeIfPresent(String.self, forKey: .keyFile)
            reconnectMinDelay = try container.decodeIfPresent(Double.self, forKey: .reconnectMinDelay) ?? 0.5
            reconnectMaxDelay = try container.decodeIfPresent(Double.self, forKey: .reconnectMaxDelay) ?? 30
            guard (0...2).contains(qos) else { throw decoder.invalid(CodingKeys.qos, "must be 0, 1 or 2, got \(qos)") }
            guard (5...3600).contains(keepAlive) else {
                throw decoder.invalid(CodingKeys.keepAlive, "must be 5 to 3600 seconds, got \(keepAlive)")
            }
            guard reconnectMinDelay > 0 else {
                throw decoder.invalid(CodingKeys.reconnectMinDelay, "must be positive, got \(reconnectMinDelay)")
            }
            guard reconnectMaxDelay >= reconnectMinDelay else {
                throw decoder.invalid(CodingKeys.reconnectMaxDelay, "must be at least reconnect_min_delay (\(reconnectMinDelay))")
            }
            guard (certFile == nil) == (keyFile == nil) else {
                throw decoder.invalid(certFile == nil ? CodingKeys.certFile : CodingKeys.keyFile,
                                      "a client certificate needs both cert_file and key_file")
            }
            if !url.tls, let field = caFile != nil ? CodingKeys.caFile : certFile != nil ? CodingKeys.certFile : nil {
                throw decoder.invalid(field, "TLS files need an mqtts:// url")
            }
            if password != nil && username == nil {
                throw decoder.invalid(CodingKeys.password, "a password needs a username")
            }
        }
    }
}

extension AgentConfiguration: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case broker, topics, database, devices, synchronous
        case agentID = "agent_id"
        case statusTopic = "status_topic"
        case commitIntervalMilliseconds = "commit_interval_ms"
        case commitMaxMessages = "commit_max_messages"
        case inboxCapacity = "inbox_capacity"
        case maxDatabaseSize = "max_database_size"
        case maxPayloadSize = "max_payload_size"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        agentID = try container.decodeIfPresent(String.self, forKey: .agentID) ?? "vigil-agent"
        broker = try container.decode(Broker.self, forKey: .broker)
        topics = try container.decodeIfPresent([String].self, forKey: .topics)
        statusTopic = try container.decodeIfPresent(String.self, forKey: .statusTopic) ?? "vigil/\(agentID)/status"
        database = try container.decodeIfPresent(String.self, forKey: .database) ?? "vigil.db"
        devices = try container.decodeIfPresent(String.self, forKey: .devices) ?? "devices"
        commitIntervalMilliseconds = try container.decodeIfPresent(Int.self, forKey: .commitIntervalMilliseconds) ?? 50
        commitMaxMessages = try container.decodeIfPresent(Int.self, forKey: .commitMaxMessages) ?? 5_000
        inboxCapacity = try container.decodeIfPresent(Int.self, forKey: .inboxCapacity) ?? 10_000
        maxDatabaseSize = try container.decodeIfPresent(ByteSize.self, forKey: .maxDatabaseSize) ?? ByteSize(bytes: 1 << 30)
        maxPayloadSize = try container.decodeIfPresent(ByteSize.self, forKey: .maxPayloadSize) ?? ByteSize(bytes: 256 << 10)
        synchronous = try container.decodeIfPresent(Database.Synchronous.self, forKey: .synchronous) ?? .normal

        guard TopicPattern.isPlainSegment(agentID) else {
            throw decoder.invalid(CodingKeys.agentID, "\"\(agentID)\" must be a non-empty name without '/', '+', '#', '{' or '}'")
        }
        guard !statusTopic.isEmpty, !statusTopic.contains(where: { $0 == "+" || $0 == "#" }) else {
            throw decoder.invalid(CodingKeys.statusTopic, "\"\(statusTopic)\" must be a topic without wildcards")
        }
        if let topics, topics.isEmpty || topics.contains(where: \.isEmpty) {
            throw decoder.invalid(CodingKeys.topics, "must list non-empty topic filters, or be left out to follow the device profiles")
        }
        guard (1...60_000).contains(commitIntervalMilliseconds) else {
            throw decoder.invalid(CodingKeys.commitIntervalMilliseconds, "must be 1 to 60000, got \(commitIntervalMilliseconds)")
        }
        guard commitMaxMessages >= 1 else {
            throw decoder.invalid(CodingKeys.commitMaxMessages, "must be at least 1, got \(commitMaxMessages)")
        }
        guard inboxCapacity >= 1 else {
            throw decoder.invalid(CodingKeys.inboxCapacity, "must be at least 1, got \(inboxCapacity)")
        }
        guard maxDatabaseSize.bytes >= 1 << 20 else {
            throw decoder.invalid(CodingKeys.maxDatabaseSize, "must be at least 1 MiB, got \(maxDatabaseSize)")
        }
        guard maxPayloadSize.bytes >= 1024 else {
            throw decoder.invalid(CodingKeys.maxPayloadSize, "must be at least 1 KiB, got \(maxPayloadSize)")
        }
    }

    /// Reads and validates the config at `path`, resolving relative paths against its folder.
    public static func load(file path: String) throws(ConfigurationError) -> AgentConfiguration {
        var configuration = try StrictJSON.decode(AgentConfiguration.self, fromFile: path)
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        func resolve(_ file: String) -> String { file.hasPrefix("/") ? file : folder + "/" + file }
        configuration.database = resolve(configuration.database)
        configuration.devices = resolve(configuration.devices)
        configuration.broker.caFile = configuration.broker.caFile.map(resolve)
        configuration.broker.certFile = configuration.broker.certFile.map(resolve)
        configuration.broker.keyFile = configuration.broker.keyFile.map(resolve)
        return configuration
    }

    /// The MQTT settings for the agent's subscriber connection.
    func mqttConfiguration(subscriptions: [String]) -> MQTTConfiguration {
        MQTTConfiguration(
            url: broker.url, clientID: broker.clientID ?? agentID, username: broker.username, password: broker.password,
            cleanSession: broker.cleanSession, keepAlive: broker.keepAlive,
            tls: .init(caFile: broker.caFile, certFile: broker.certFile, keyFile: broker.keyFile),
            will: .init(topic: statusTopic, payload: Array(#"{"agent":"\#(agentID)","state":"offline"}"#.utf8)),
            birth: .init(topic: statusTopic, payload: Array(#"{"agent":"\#(agentID)","state":"online"}"#.utf8)),
            subscriptions: subscriptions.map { .init($0, qos: broker.qos) },
            reconnectMinDelay: broker.reconnectMinDelay, reconnectMaxDelay: broker.reconnectMaxDelay)
    }
}
