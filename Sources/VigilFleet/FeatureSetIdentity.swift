import VigilCore

/// What makes two feature windows the same kind of window, for the agent that computes them, the
/// trainer that learns from them and the model that is fed them: device type, sensor, window
/// (in its canonical text) and feature names in order.
public struct FeatureSetIdentity: Sendable, Hashable {
    public var deviceType: String
    public var sensor: String
    public var window: FeatureWindowSpec.Window
    public var names: [String]

    public init(deviceType: String, sensor: String, window: FeatureWindowSpec.Window, names: [String]) {
        self.deviceType = deviceType
        self.sensor = sensor
        self.window = window
        self.names = names
    }

    /// The identity of one of `profile`'s feature specs.
    public init(profile: DeviceProfile, spec: FeatureWindowSpec) {
        self.init(deviceType: profile.type, sensor: profile.sensors[spec.sensor].name, window: spec.window, names: spec.features)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.deviceType == rhs.deviceType && lhs.sensor == rhs.sensor && lhs.window.canonical == rhs.window.canonical
            && lhs.names == rhs.names
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(deviceType)
        hasher.combine(sensor)
        hasher.combine(window.canonical)
        hasher.combine(names)
    }

    /// The `names` column's text: a JSON list.
    public var namesText: String { FleetTables.text(names) }
}
