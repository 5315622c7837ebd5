/// How a machine of a profile can fail: the fault modes the simulator develops and that
/// maintenance events name.
public enum FaultMode: String, Sendable, CaseIterable, Hashable {
    /// A spall on the bearing's outer race: impacts at BPFO.
    case outerRace = "outer_race"
    /// A spall on the inner race: impacts at BPFI, modulated by shaft rotation.
    case innerRace = "inner_race"
    /// A damaged rolling element: impacts at 2 x BSF, modulated by the cage (FTF).
    case ball
    /// Growing imbalance: the 1x shaft harmonic.
    case imbalance
    /// Growing misalignment: the 2x shaft harmonic.
    case misalignment

    /// Whether the fault is a bearing defect, whose impacts ring the structure, rather than a
    /// shaft fault.
    public var isBearingDefect: Bool {
        switch self {
        case .outerRace, .innerRace, .ball: true
        case .imbalance, .misalignment: false
        }
    }
}

/// One fault mode a device type can develop, and when: the life to failure is drawn from
/// `lifeHours`, the onset of detectable damage from `onsetFraction` of that life.
public struct FaultSpec: Sendable, Equatable {
    public var mode: FaultMode
    public var lifeHours: ClosedRange<Double>
    public var onsetFraction: ClosedRange<Double>
    /// Relative likelihood among the profile's faults.
    public var weight: Double

    init(_ reader: JSONObjectReader) throws(ConfigurationError) {
        mode = try reader.choice("mode")
        lifeHours = try Self.range("life_hours", reader, within: 0.001...1e6)
        onsetFraction = try Self.range("onset_fraction", reader, within: 0...0.99)
        weight = try reader.optionalDouble("weight") ?? 1
        try reader.rejectUnknownFields()
        guard weight > 0 else { throw reader.error("weight", "must be positive, got \(weight)") }
    }

    private static func range(_ key: String, _ reader: JSONObjectReader,
                              within limits: ClosedRange<Double>) throws(ConfigurationError) -> ClosedRange<Double> {
        let bounds = try reader.numbers(key)
        guard bounds.count == 2 else { throw reader.error(key, "expected [low, high]") }
        let (low, high) = (bounds[0], bounds[1])
        guard low <= high, limits.contains(low), limits.contains(high) else {
            throw reader.error(key, "needs low <= high within \(limits.lowerBound)...\(limits.upperBound), got [\(low), \(high)]")
        }
        return low...high
    }
}
