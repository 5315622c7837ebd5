#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import VigilCore

/// A real mosquitto on a free loopback port, with its config in a temp folder, stopped by its
/// pid. `restart()` brings it back on the same port with the same persistence file, as a
/// broker restart in a plant would.
public final class TestBroker: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private var process: ChildProcess?

    /// Starts a broker. `configuration` lines are appended to the listener's config (TLS files,
    /// password file); `persistence` keeps sessions and queued messages across restarts. The
    /// base config sets `max_queued_messages 0` and `max_queued_bytes 0`: a test broker never
    /// drops a queued QoS 1 message (mosquitto's default of 1,000 would, silently).
    public init(configuration: String = "", persistence: Bool = false) throws {
        directory = try TemporaryDirectory("vigil-broker")
        // Another process may take the free port before mosquitto binds it: then try another.
        var attempt = 0
        while true {
            let candidate = try freePort()
            try writeFile(directory.file("mosquitto.conf"), Self.configuration(port: candidate, persistence: persistence,
                                                                                directory: directory, extra: configuration))
            do {
                let started = try Self.start(port: candidate, directory: directory)
                port = candidate
                process = started
                return
            } catch {
                attempt += 1
                if attempt == 3 { throw error }
            }
        }
    }

    private static func configuration(port: Int, persistence: Bool, directory: TemporaryDirectory, extra: String) -> String {
        """
        listener \(port) 127.0.0.1
        allow_anonymous true
        user root
        persistence \(persistence)
        persistence_location \(directory.path)/
        autosave_interval 1
        max_queued_messages 0
        max_queued_bytes 0
        max_inflight_messages 0
        queue_qos0_messages false
        log_dest stderr
        log_type error
        log_type warning
        \(extra)

        """
    }

    /// `mqtt://127.0.0.1:port`.
    public var url: String { "mqtt://127.0.0.1:\(port)" }

    /// Starts mosquitto and waits until it, and not some other process, listens on `port`.
    private static func start(port: Int, directory: TemporaryDirectory) throws -> ChildProcess {
        let started = try ChildProcess("mosquitto", ["-c", directory.file("mosquitto.conf")], log: directory.file("mosquitto.log"))
        guard eventually(timeout: 10, { isListening(pid: started.pid, port: port) || started.hasExited }), !started.hasExited else {
            started.stop()
            throw TestFailure("mosquitto did not start on port \(port): \(started.output())")
        }
        return started
    }

    /// Stops the broker (SIGTERM: it saves its persistence file) and waits for it.
    public func stop() {
        process?.stop()
        process = nil
    }

    /// Starts it again on the same port.
    public func restart() throws {
        stop()
        process = try Self.start(port: port, directory: directory)
    }

    /// The broker's log.
    public func log() -> String { (try? readFile(directory.file("mosquitto.log"))) ?? "" }

    deinit {
        stop()
        directory.remove()
    }
}

/// Ports `freePort` has handed out in this test process: never twice, so tests running side by
/// side do not start servers on one port.
private let handedOut = Mutex<Set<Int>>([])

/// A TCP port on 127.0.0.1 that nothing listens on right now and no other test was given.
public func freePort() throws -> Int {
    for _ in 0..<100 {
        let port = try unboundPort()
        if handedOut.withLock({ $0.insert(port).inserted }) { return port }
    }
    throw TestFailure("no unused port after 100 tries")
}

private func unboundPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw TestFailure("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
public func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// Whether process `pid` itself listens on 127.0.0.1:`port`: a listening socket in
/// /proc/net/tcp whose inode is one of its open files. A test that only checks that the port
/// answers may be talking to a server another test started on the port both picked.
public func isListening(pid: pid_t, port: Int) -> Bool {
    guard let table = try? readFile("/proc/net/tcp") else { return false }
    let hex = String(port, radix: 16, uppercase: true)
    let local = "0100007F:" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    // Fields: sl, local address, remote address, state (0A = LISTEN), queues, timer, retransmits, uid, timeout, inode.
    let sockets = Set(table.split(separator: "\n").dropFirst().compactMap { line -> String? in
        let fields = line.split(separator: " ")
        guard fields.count > 9, fields[1] == local, fields[3] == "0A" else { return nil }
        return "socket:[\(fields[9])]"
    })
    guard !sockets.isEmpty, let descriptors = try? FileSystem.list("/proc/\(pid)/fd") else { return false }
    return descriptors.contains { name in
        var target = [CChar](repeating: 0, count: 64)
        let count = readlink("/proc/\(pid)/fd/\(name)", &target, target.count - 1)
        return count > 0 && sockets.contains(String(decoding: target[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
