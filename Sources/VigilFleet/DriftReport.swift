import VigilCore

/// How far a model's recent inputs at one agent have moved from its training data, retained on
/// `<agents>/<agent>/drift/<device_type>` (QoS 1) so the trainer always holds each agent's
/// latest: the PSI of each input (`sensor.feature@window`) over the last `windows` scored
/// windows (`DriftMonitor`). The trainer's `serve` retrains a type whose model in service drifts.
///
///     {"format": 1, "agent": "edge-1", "device_type": "induction-motor", "model": "motor-health",
///      "version": "1.2.0", "windows": 500, "psi": {"temperature.mean@time:3600:1800": 0.31, ...}}
public struct DriftReport: Sendable, Equatable {
    public static let formatVersion = 1

    public var agent: String
    public var deviceType: String
    public var model: String
    public var version: String
    public var windows: Int
    /// Per input, in the model's input order.
    public var psi: [(input: String, value: Double)]

    public init(agent: String, deviceType: String, model: String, version: String, windows: Int, psi: [(input: String, value: Double)]) {
        self.agent = agent
        self.deviceType = deviceType
        self.model = model
        self.version = version
        self.windows = windows
        self.psi = psi
    }

    /// The largest input's PSI.
    public var maxPSI: Double { psi.map(\.value).max() ?? 0 }

    public static func == (lhs: DriftReport, rhs: DriftReport) -> Bool {
        lhs.agent == rhs.agent && lhs.deviceType == rhs.deviceType && lhs.model == rhs.model && lhs.version == rhs.version
            && lhs.windows == rhs.windows && lhs.psi.map(\.input) == rhs.psi.map(\.input) && lhs.psi.map(\.value) == rhs.psi.map(\.value)
    }

    public func encoded() -> [UInt8] {
        let json: JSONValue = .object([
            ("format", .number(Double(Self.formatVersion))), ("agent", .string(agent)), ("device_type", .string(deviceType)),
            ("model", .string(model)), ("version", .string(version)), ("windows", .number(Double(windows))),
            ("psi", .object(psi.map { ($0.input, .number($0.value)) })),
        ])
        return Array(json.serialized(indent: 0).utf8)
    }

    public init(bytes: [UInt8]) throws(FleetError) {
        do {
            let reader = try FleetMessage.open(bytes, kind: "drift report", format: Self.formatVersion, readBy: "this trainer")
            agent = try reader.string("agent")
            deviceType = try reader.string("device_type")
            model = try reader.string("model")
            version = try reader.string("version")
            windows = try reader.integer("windows")
            guard case .object(let fields)? = reader.value("psi") else { throw FleetError("malformed", "psi: expected an object") }
            psi = try fields.map { field throws(FleetError) in
                guard case .number(let value) = field.value, value.isFinite, value >= 0 else {
                    throw FleetError("malformed", "psi.\(field.key): expected a number of 0 or more")
                }
                return (field.key, value)
            }
        } catch let error as FleetError {
            throw error
        } catch {
            throw FleetError("malformed", "\(error)")
        }
    }
}
