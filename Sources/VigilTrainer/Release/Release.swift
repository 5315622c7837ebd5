import VigilCore
import VigilFleet
import VigilInference
import VigilMQTT

/// Publishes a model to the fleet: for each device type the bundle serves, the bundle itself
/// and its signed rollout rule (`ReleaseRule`), both retained, so an agent that connects later
/// still finds them. The bundle goes first: an agent acts when the rule arrives.
///
/// Agents decide from the rule whether they are in the wave (a canary share of agents, or named
/// devices), verify the bundle with their trusted keys, install it and report on
/// `<agents>/<agent>/model`; widening and rollback act on those reports.
public enum Release {
    /// The retained messages of a release of `bundle`, the rule signed with `key`. A rollback
    /// rule lets agents install a version lower than the one they run.
    public static func messages(for bundle: ModelBundle, bytes: [UInt8], rollout: ReleaseRule.Rollout, rollback: Bool = false,
                                topics: FleetTopics, key: Ed25519.KeyPair, releasedAt: Double) -> [(topic: String, payload: [UInt8])] {
        bundle.manifest.deviceTypes.flatMap { type in
            let rule = ReleaseRule(deviceType: type, model: bundle.manifest.name, version: bundle.manifest.version,
                                   sha256: bundle.digest, rollout: rollout, rollback: rollback, releasedAt: releasedAt)
            return [(topics.bundle(deviceType: type), bytes), (topics.rule(deviceType: type), rule.signed(with: key))]
        }
    }

    /// Publishes the release retained at QoS 1 and waits for the broker's acknowledgements.
    public static func publish(_ messages: [(topic: String, payload: [UInt8])], central: CentralBroker,
                               clientID: String = "vigil-trainer-release") throws {
        let client = try MQTTClient(configuration: central.configuration(clientID: clientID))
        client.start()
        defer { client.stop() }
        guard client.waitUntilReady(timeout: 30) else { throw ReleaseError("cannot connect to \(central.url)") }
        for message in messages { try client.publish(topic: message.topic, payload: message.payload, qos: 1, retain: true) }
        guard client.waitForPublished(timeout: 30) else { throw ReleaseError("\(central.url) did not acknowledge the release") }
    }
}

/// A release that could not be published or watched: the broker is out of reach or did not
/// acknowledge.
public struct ReleaseError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
