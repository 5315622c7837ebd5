/// Where the fleet protocol's messages go on the central broker. The prefixes are configurable
/// on both sides (agent config `upstream.topic_prefix` and `upstream.release_prefix`, trainer
/// `--topic-prefix` and `--release-prefix`); the defaults are the ones in DESIGN.md.
///
///     <upstream>/<agent>/batch      agent -> trainer, numbered batches (QoS 1)
///     <upstream>/<agent>/ack        trainer -> agent, highest sequence held without a gap
///     <release>/<type>/bundle       trainer -> agents, the signed .vgm (retained)
///     <release>/<type>/rule         trainer -> agents, the signed rollout rule (retained)
///     <agents>/<agent>/model        agent -> trainer, install reports
///     <agents>/<agent>/drift/<type> agent -> trainer, its model's input drift (retained)
public struct FleetTopics: Sendable, Equatable {
    public var upstreamPrefix: String
    public var releasePrefix: String
    public var agentPrefix: String

    public init(upstreamPrefix: String = "vigil/upstream", releasePrefix: String = "vigil/release", agentPrefix: String = "vigil") {
        self.upstreamPrefix = upstreamPrefix
        self.releasePrefix = releasePrefix
        self.agentPrefix = agentPrefix
    }

    public func batch(agent: String) -> String { "\(upstreamPrefix)/\(agent)/batch" }
    public func ack(agent: String) -> String { "\(upstreamPrefix)/\(agent)/ack" }
    public func bundle(deviceType: String) -> String { "\(releasePrefix)/\(deviceType)/bundle" }
    public func rule(deviceType: String) -> String { "\(releasePrefix)/\(deviceType)/rule" }
    public func modelReport(agent: String) -> String { "\(agentPrefix)/\(agent)/model" }
    public func drift(agent: String, deviceType: String) -> String { "\(agentPrefix)/\(agent)/drift/\(deviceType)" }

    /// Every agent's batches, for the trainer's ingest.
    public var batchFilter: String { "\(upstreamPrefix)/+/batch" }
    /// Every agent's install reports, for the rollout watch.
    public var modelReportFilter: String { "\(agentPrefix)/+/model" }
    /// Every agent's drift reports, for `serve`.
    public var driftFilter: String { "\(agentPrefix)/+/drift/+" }

    /// The agent a batch topic names, or nil if `topic` is not one.
    public func agent(ofBatchTopic topic: String) -> String? {
        middle(of: topic, prefix: upstreamPrefix + "/", suffix: "/batch")
    }

    /// The agent and device type a drift topic names, or nil if `topic` is not one.
    public func drift(of topic: String) -> (agent: String, deviceType: String)? {
        let prefix = agentPrefix + "/"
        guard topic.hasPrefix(prefix) else { return nil }
        let parts = topic.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1] == "drift", !parts[0].isEmpty, !parts[2].isEmpty else { return nil }
        return (String(parts[0]), String(parts[2]))
    }

    /// What a release topic is about, or nil if `topic` is not one.
    public func release(of topic: String) -> (deviceType: String, isRule: Bool)? {
        if let type = middle(of: topic, prefix: releasePrefix + "/", suffix: "/rule") { return (type, true) }
        if let type = middle(of: topic, prefix: releasePrefix + "/", suffix: "/bundle") { return (type, false) }
        return nil
    }

    private func middle(of topic: String, prefix: String, suffix: String) -> String? {
        guard topic.hasPrefix(prefix), topic.hasSuffix(suffix), topic.count > prefix.count + suffix.count else { return nil }
        let name = String(topic.dropFirst(prefix.count).dropLast(suffix.count))
        return name.contains("/") ? nil : name
    }
}
