import VigilCore
import VigilInference
import VigilMQTT

/// Publishes a model to the fleet: for each device type the bundle serves, the bundle itself
/// and its rollout rule, both retained, so an agent that connects later still finds them.
///
///     <prefix>/<device-type>/bundle   the .vgm bytes
///     <prefix>/<device-type>/rule     {"model", "version", "sha256", "canary_share" or "devices", "released_at"}
///
/// Agents decide from the rule whether they are in the wave (a canary share of agents, or named
/// devices), verify the bundle with their trusted keys, install it and report on their status
/// topics; widening and rollback act on those reports.
public enum Release {
    /// Who gets the model now.
    public enum Rollout: Sendable, Equatable {
        /// A share of agents, chosen by each agent from its id (0...1).
        case canary(Double)
        /// These devices only.
        case devices([String])
    }

    /// The retained messages of a release of `bundle`.
    public static func messages(for bundle: ModelBundle, bytes: [UInt8], rollout: Rollout, prefix: String,
                                releasedAt: Double) -> [(topic: String, payload: [UInt8])] {
        var rule: [(key: String, value: JSONValue)] = [
            ("model", .string(bundle.manifest.name)), ("version", .string(bundle.manifest.version)),
            ("sha256", .string(bundle.digest)), ("released_at", .number(releasedAt)),
        ]
        switch rollout {
        case .canary(let share): rule.append(("canary_share", .number(share)))
        case .devices(let devices): rule.append(("devices", .array(devices.map(JSONValue.string))))
        }
        return bundle.manifest.deviceTypes.flatMap { type in
            [("\(prefix)/\(type)/bundle", bytes), ("\(prefix)/\(type)/rule", Array(JSONValue.object(rule).serialized(indent: 0).utf8))]
        }
    }

    /// Publishes the release retained at QoS 1 and waits for the broker's acknowledgements.
    public static func publish(_ messages: [(topic: String, payload: [UInt8])], broker: BrokerURL, clientID: String) throws {
        let client = try MQTTClient(configuration: MQTTConfiguration(url: broker, clientID: clientID))
        client.start()
        defer { client.stop() }
        guard client.waitUntilReady(timeout: 30) else { throw ConfigurationError(file: "\(broker)", field: "", problem: "cannot connect") }
        for message in messages { try client.publish(topic: message.topic, payload: message.payload, qos: 1, retain: true) }
        guard client.waitForPublished(timeout: 30) else {
            throw ConfigurationError(file: "\(broker)", field: "", problem: "the broker did not acknowledge the release")
        }
    }
}
