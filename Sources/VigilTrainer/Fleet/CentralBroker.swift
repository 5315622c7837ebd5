import VigilFleet
import VigilMQTT

/// The central broker as the trainer reaches it: its address, the trainer's credential (on a
/// broker with a pattern ACL, the one that may write acks and releases) and the fleet's topics.
public struct CentralBroker: Sendable {
    public var url: BrokerURL
    public var username: String?
    public var password: String?
    public var topics: FleetTopics

    public init(url: BrokerURL, username: String? = nil, password: String? = nil, topics: FleetTopics = FleetTopics()) {
        self.url = url
        self.username = username
        self.password = password
        self.topics = topics
    }

    /// A connection to it as `clientID`.
    func configuration(clientID: String, subscriptions: [String] = [], cleanSession: Bool = true) -> MQTTConfiguration {
        MQTTConfiguration(url: url, clientID: clientID, username: username, password: password, cleanSession: cleanSession,
                          subscriptions: subscriptions.map { .init($0, qos: 1) })
    }
}
