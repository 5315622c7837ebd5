/// The unit of the `ts` field in a device's payloads. Readings are stored in Unix seconds.
public enum TimestampUnit: String, Sendable, CaseIterable {
    case seconds = "s"
    case milliseconds = "ms"
    case microseconds = "us"
    case nanoseconds = "ns"

    /// Multiplies a raw `ts` into Unix seconds.
    public var toSeconds: Double {
        switch self {
        case .seconds: 1
        case .milliseconds: 1e-3
        case .microseconds: 1e-6
        case .nanoseconds: 1e-9
        }
    }
}
