import VigilCore

/// What an agent says about a release, on `<agents>/<agent>/model`, after the transaction that
/// records it commits. The trainer's rollout watch widens on `installed` and rolls back on the
/// others.
///
///     {"format": 1, "agent": "edge-1", "device_type": "induction-motor", "model": "motor-health",
///      "version": "1.2.0", "state": "installed", "reason": ""}
public struct ModelReport: Sendable, Equatable {
    public static let formatVersion = 1

    public enum State: String, Sendable, CaseIterable {
        /// Verified, written and scoring.
        case installed
        /// Not installed: the reason says which check failed; the running model stays.
        case refused
        /// Installed, then failed to load or failed its health checks: the previous model runs again.
        case rolledBack = "rolled_back"
    }

    public var agent: String
    public var deviceType: String
    public var model: String
    public var version: String
    public var state: State
    public var reason: String

    public init(agent: String, deviceType: String, model: String, version: String, state: State, reason: String = "") {
        self.agent = agent
        self.deviceType = deviceType
        self.model = model
        self.version = version
        self.state = state
        self.reason = reason
    }

    public func encoded() -> [UInt8] {
        let json: JSONValue = [
            "format": .number(Double(Self.formatVersion)), "agent": .string(agent), "device_type": .string(deviceType),
            "model": .string(model), "version": .string(version), "state": .string(state.rawValue), "reason": .string(reason),
        ]
        return Array(json.serialized(indent: 0).utf8)
    }

    public init(bytes: [UInt8]) throws(FleetError) {
        do {
            let reader = try FleetMessage.open(bytes, kind: "model report", format: Self.formatVersion, readBy: "this trainer")
            agent = try reader.string("agent")
            deviceType = try reader.string("device_type")
            model = try reader.string("model")
            version = try reader.string("version")
            state = try reader.choice("state")
            reason = try reader.optionalString("reason") ?? ""
        } catch let error as FleetError {
            throw error
        } catch {
            throw FleetError("malformed", "\(error)")
        }
    }
}
