#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilCore
import VigilTestSupport

/// The systemd units we ship, and the agent's side of `Type=notify` with a watchdog.
@Suite("Running under systemd")
struct ServiceTests {
    static let units = String(#filePath.split(separator: "/Tests/").first!) + "/deploy/systemd"

    /// `systemd-analyze verify` finds nothing to say about either unit (it exits 0 even on an
    /// unknown key, so its output must be empty too).
    @Test(arguments: ["vigil-agent", "vigil-trainer"])
    func unitsVerify(name: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The binary must exist for verify: point ExecStart at the one just built.
        let unit = try readFile("\(Self.units)/\(name).service")
            .replacing("/usr/local/bin/\(name)", with: buildProductsDirectory() + "/\(name)")
        try writeFile(directory.file("\(name).service"), unit)
        let log = directory.file("verify.log")
        #expect(try ChildProcess.run("systemd-analyze", ["verify", directory.file("\(name).service")], log: log) == 0)
        let said = try readFile(log)
        #expect(said == "", "systemd-analyze said: \(said)")
        #expect(unit.contains(name == "vigil-agent" ? "Type=notify" : "Type=exec"))
    }

    /// Started with NOTIFY_SOCKET and WATCHDOG_USEC, the agent says READY=1, pings the watchdog
    /// while idle, and says STOPPING=1 when told to stop.
    @Test func agentNotifiesReadinessAndPingsTheWatchdog() throws {
        let harness = try AgentHarness()
        let path = harness.directory.file("notify.sock")
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        let agent = try ChildProcess(buildProductsDirectory() + "/vigil-agent", ["run", "--config", harness.configPath],
                                     log: harness.directory.file("agent.log"),
                                     environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"])
        func next(timeout: Double) -> String? {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
        }
        var received: [String] = []
        let started = MonotonicClock.now()
        while received.filter({ $0 == "WATCHDOG=1" }).count < 5, MonotonicClock.now() - started < 10, let message = next(timeout: 2) {
            received.append(message)
        }
        #expect(received.first == "READY=1", "\(received)")
        #expect(received.filter { $0 == "WATCHDOG=1" }.count >= 5, "pings while idle: \(received)")
        agent.signal(SIGTERM)
        var stopping = false
        while !stopping, let message = next(timeout: 5) { stopping = message == "STOPPING=1" }
        #expect(stopping)
        #expect(agent.wait() == 0)
    }
}
