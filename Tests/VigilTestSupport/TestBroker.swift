#if canImport(Glibc)
import Glibc
#endif

/// A real mosquitto on a free loopback port, with its config in a temp folder, stopped by its
/// pid. `restart()` brings it back on the same port with the same persistence file, as a
/// broker restart in a plant would.
public final class TestBroker: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private let extraConfiguration: String
    private var process: ChildProcess?

    /// Starts a broker. `configuration` lines are appended to the listener's config (TLS files,
    /// password file); `persistence` keeps sessions and queued messages across restarts. The
    /// base config sets `max_queued_messages 0` and `max_queued_bytes 0`: a test broker never
    /// drops a queued QoS 1 message (mosquitto's default of 1,000 would, silently).
    public init(configuration: String = "", persistence: Bool = false) throws {
        directory = try TemporaryDirectory("vigil-broker")
        port = try freePort()
        extraConfiguration = configuration
        let text = """
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
            \(configuration)

            """
        try writeFile(directory.file("mosquitto.conf"), text)
        try start()
    }

    /// `mqtt://127.0.0.1:port`.
    public var url: String { "mqtt://127.0.0.1:\(port)" }

    private func start() throws {
        let process = try ChildProcess("mosquitto", ["-c", directory.file("mosquitto.conf")], log: directory.file("mosquitto.log"))
        self.process = process
        guard eventually(timeout: 10, { canConnect(port: port) || process.hasExited }), !process.hasExited else {
            throw TestFailure("mosquitto did not start on port \(port): \(process.output())")
        }
    }

    /// Stops the broker (SIGTERM: it saves its persistence file) and waits for it.
    public func stop() {
        process?.stop()
        process = nil
    }

    /// Starts it again on the same port.
    public func restart() throws {
        stop()
        try start()
    }

    /// The broker's log.
    public func log() -> String { (try? readFile(directory.file("mosquitto.log"))) ?? "" }

    deinit {
        stop()
        directory.remove()
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
public func freePort() throws -> Int {
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
