/// One text form of a window, used wherever a window is stored or compared: the agent's and the
/// trainer's `feature_sets` rows, upstream batches and the dataset's match against a profile.
/// `count:256:32` (size, hop) or `time:3600:1800` (seconds, hop seconds); a whole number of
/// seconds has no fraction, so `3600` and `3600.0` cannot name two windows.
extension FeatureWindowSpec.Window {
    public var kind: String {
        switch self {
        case .count: "count"
        case .time: "time"
        }
    }

    public var canonical: String {
        switch self {
        case .count(let size, let hop): "count:\(size):\(hop)"
        case .time(let seconds, let hop): "time:\(Self.number(seconds)):\(Self.number(hop))"
        }
    }

    /// Reads the canonical form back; nil if it is not one.
    public init?(canonical text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        switch parts[0] {
        case "count":
            guard let size = Int(parts[1]), let hop = Int(parts[2]), size >= 2, hop >= 1 else { return nil }
            self = .count(size: size, hop: hop)
        case "time":
            guard let seconds = Double(parts[1]), let hop = Double(parts[2]), seconds > 0, hop > 0 else { return nil }
            self = .time(seconds: seconds, hopSeconds: hop)
        default:
            return nil
        }
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}
