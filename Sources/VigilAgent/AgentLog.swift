#if canImport(Glibc)
import Glibc
#endif
import VigilCore

/// The agent's log lines: one line each on standard error, stamped with UTC time, which
/// systemd and container runtimes collect as they are.
public enum AgentLog {
    /// Writes `message` to standard error.
    @Sendable
    public static func standardError(_ message: String) {
        let now = WallClock.now()
        var seconds = time_t(now)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int((now - now.rounded(.down)) * 1000)
        let stamp = padded(Int(parts.tm_year) + 1900, 4) + "-" + padded(Int(parts.tm_mon) + 1, 2) + "-"
            + padded(Int(parts.tm_mday), 2) + "T" + padded(Int(parts.tm_hour), 2) + ":" + padded(Int(parts.tm_min), 2)
            + ":" + padded(Int(parts.tm_sec), 2) + "." + padded(millis, 3) + "Z"
        write("\(stamp) \(message)\n")
    }

    /// Writes `text` to standard error as it is, in one system call.
    public static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
