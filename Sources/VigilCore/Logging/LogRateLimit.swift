/// Lets a recurring warning through at most once per interval and counts the ones held back,
/// so a flood of bad messages or a long outage costs a line a minute, not a line per event.
public struct LogRateLimit: Sendable {
    /// Seconds between two lines let through.
    public let interval: Double
    private var last = -Double.infinity
    private var held = 0

    public init(interval: Double = 60) {
        self.interval = interval
    }

    /// At `now` (monotonic seconds): nil to hold this event back, or how many were held back
    /// since the last one let through.
    public mutating func admit(now: Double = MonotonicClock.now()) -> Int? {
        guard now - last >= interval else {
            held += 1
            return nil
        }
        last = now
        defer { held = 0 }
        return held
    }
}
