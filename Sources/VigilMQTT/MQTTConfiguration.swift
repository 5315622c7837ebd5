/// How to reach a broker and what to ask of it. Every connection and reconnection uses it.
public struct MQTTConfiguration: Sendable {
    /// Quality of service: 0 at most once, 1 at least once, 2 exactly once.
    public typealias QoS = Int32

    /// A topic filter to (re)subscribe after every connect.
    public struct Subscription: Sendable, Equatable {
        public var filter: String
        public var qos: QoS
        public init(_ filter: String, qos: QoS) { self.filter = filter; self.qos = qos }
    }

    /// TLS files; with no `caFile` the system's CA store is used.
    public struct TLS: Sendable, Equatable {
        public var caFile: String?
        /// A client certificate and its key, for brokers that require one.
        public var certFile: String?
        public var keyFile: String?
        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    /// A message the client publishes on its own: the will and the birth message.
    public struct OutgoingMessage: Sendable, Equatable {
        public var topic: String
        public var payload: [UInt8]
        public var qos: QoS
        public var retain: Bool
        public init(topic: String, payload: [UInt8], qos: QoS = 1, retain: Bool = true) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
        }
    }

    public var url: BrokerURL
    public var clientID: String
    public var username: String?
    public var password: String?
    /// false keeps a persistent session: the broker queues QoS 1/2 messages while we are away.
    public var cleanSession: Bool
    /// Seconds between pings when idle.
    public var keepAlive: Int32
    /// TLS settings; used when the URL is `mqtts://`.
    public var tls: TLS
    /// Published by the broker for us if we vanish without a clean disconnect, and by the
    /// client itself before a clean one: so subscribers always learn that we went away.
    public var will: OutgoingMessage?
    /// Published after every connect, once subscribed (e.g. a retained "online" next to the will's "offline").
    public var birth: OutgoingMessage?
    public var subscriptions: [Subscription]
    /// First reconnect delay in seconds; it doubles per failed attempt, with jitter.
    public var reconnectMinDelay: Double
    /// The longest reconnect delay.
    public var reconnectMaxDelay: Double

    public init(url: BrokerURL, clientID: String, username: String? = nil, password: String? = nil,
                cleanSession: Bool = true, keepAlive: Int32 = 30, tls: TLS = TLS(),
                will: OutgoingMessage? = nil, birth: OutgoingMessage? = nil,
                subscriptions: [Subscription] = [], reconnectMinDelay: Double = 0.5, reconnectMaxDelay: Double = 30) {
        self.url = url
        self.clientID = clientID
        self.username = username
        self.password = password
        self.cleanSession = cleanSession
        self.keepAlive = keepAlive
        self.tls = tls
        self.will = will
        self.birth = birth
        self.subscriptions = subscriptions
        self.reconnectMinDelay = reconnectMinDelay
        self.reconnectMaxDelay = reconnectMaxDelay
    }
}
