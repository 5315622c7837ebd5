#if canImport(Glibc)
import Glibc
#endif
import VigilCore

/// Tells systemd how the agent is, by the sd_notify protocol: `READY=1` once it runs,
/// `WATCHDOG=1` from the writer loop while it makes progress (so a stalled writer gets the
/// agent restarted), `STOPPING=1` on the way out. Does nothing outside a `Type=notify` unit
/// (no `NOTIFY_SOCKET`).
final class SystemdNotifier: @unchecked Sendable {
    /// Seconds between watchdog pings: half of `WATCHDOG_USEC`, or nil without a watchdog.
    let watchdogInterval: Double?
    private let socketPath: [UInt8]?
    /// Touched by the writer thread only.
    private var lastPing = 0.0

    init() {
        let path = getenv("NOTIFY_SOCKET").map { String(cString: $0) }
        socketPath = path.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        let forUs = getenv("WATCHDOG_PID").map { pid_t(String(cString: $0)) == getpid() } ?? true
        if forUs, socketPath != nil, let text = getenv("WATCHDOG_USEC"), let microseconds = Double(String(cString: text)),
           microseconds > 0 {
            watchdogInterval = microseconds / 2e6
        } else {
            watchdogInterval = nil
        }
    }

    func ready() { send("READY=1") }

    func stopping() { send("STOPPING=1") }

    /// Pings the watchdog if half its period has passed since the last ping.
    func watchdog() {
        guard let watchdogInterval else { return }
        let now = MonotonicClock.now()
        guard now - lastPing >= watchdogInterval else { return }
        lastPing = now
        send("WATCHDOG=1")
    }

    /// When the writer must wake to ping in time, or nil without a watchdog.
    var nextPing: Double? { watchdogInterval.map { lastPing + $0 } }

    /// One datagram to the socket systemd gave (a path, or `@name` in the abstract namespace).
    private func send(_ state: String) {
        guard let socketPath, socketPath.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: socketPath)
            if socketPath.first == UInt8(ascii: "@") { raw[0] = 0 }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + socketPath.count)
        _ = state.withCString { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text, strlen(text), 0, $0, length) }
            }
        }
    }
}
