import VigilCore

/// An agent's retained presence on `<agents>/<agent>/status`, on the edge broker and the
/// central one: `online` after every connect, `offline` as its last will (the broker sends it
/// if the agent vanishes) and on a clean stop.
///
///     {"agent": "edge-1", "state": "online"}
public struct AgentPresence: Sendable, Equatable {
    public var agent: String
    public var online: Bool

    public init(agent: String, online: Bool) {
        self.agent = agent
        self.online = online
    }

    public func encoded() -> [UInt8] {
        Array(JSONValue.object([("agent", .string(agent)), ("state", .string(online ? "online" : "offline"))]).serialized(indent: 0).utf8)
    }
}
