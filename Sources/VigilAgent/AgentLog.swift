import VigilCore

/// The agent's log lines: one line each on standard error, stamped with UTC time, which
/// systemd and container runtimes collect as they are.
public enum AgentLog {
    /// Writes `message` to standard error.
    @Sendable
    public static func standardError(_ message: String) {
        StandardError.write("\(WallClock.utc(WallClock.now(), milliseconds: true)) \(message)\n")
    }
}
