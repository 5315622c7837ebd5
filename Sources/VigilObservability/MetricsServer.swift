#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Prometheus
import VigilCore

/// Serves a Prometheus registry at `GET /metrics` over plain HTTP/1.1 on a thread of its own: one
/// connection at a time, each answered and closed. A scraper needs no more, and the agent carries
/// no HTTP stack for it.
public final class MetricsServer: @unchecked Sendable {
    /// The address listened on, with the port the system chose when asked for port 0.
    public let address: ListenAddress
    private let registry: PrometheusCollectorRegistry
    private let listener: Int32
    private let lock = ConditionLock()
    private var stopped = false
    private var thread: NativeThread?

    /// Binds and listens at once, so a taken port fails here with the reason; serving starts
    /// with `start()`.
    public init(address: ListenAddress, registry: PrometheusCollectorRegistry) throws(MetricsServerError) {
        self.registry = registry
        #if os(Linux)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw MetricsServerError(address: address, problem: "socket: \(Self.reason())") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = Self.socketAddress(address)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            let problem = "bind: \(Self.reason())"
            close(descriptor)
            throw MetricsServerError(address: address, problem: problem)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.address = ListenAddress(octets: address.octets, port: UInt16(bigEndian: socketAddress.sin_port))
        listener = descriptor
    }

    /// Starts answering scrapes.
    public func start() {
        thread = NativeThread(name: "vigil-metrics") { [self] in serve() }
    }

    /// Stops listening and waits for the answer in progress.
    public func stop() {
        lock.withLock { stopped = true }
        // Wakes the blocked accept() with an error.
        shutdown(listener, Int32(SHUT_RDWR))
        thread?.join()
        thread = nil
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            if lock.withLock({ stopped }) {
                if connection >= 0 { close(connection) }
                return
            }
            guard connection >= 0 else { continue }
            answer(connection)
            close(connection)
        }
    }

    /// Reads one request (its head, at most 8 KiB, within 2 s) and answers it.
    private func answer(_ connection: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while request.count < 8192, !Self.holdsHead(request) {
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            request += chunk[0..<count]
        }
        let line = request.split(separator: UInt8(ascii: "\r"), maxSplits: 1).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
            return send(connection, status: "400 Bad Request", body: Array("not an HTTP/1.x request line\n".utf8))
        }
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard path == "/metrics" else {
            return send(connection, status: "404 Not Found", body: Array("only /metrics is served here\n".utf8))
        }
        guard parts[0] == "GET" || parts[0] == "HEAD" else {
            return send(connection, status: "405 Method Not Allowed", body: Array("use GET\n".utf8), extra: "Allow: GET, HEAD\r\n")
        }
        var body: [UInt8] = []
        registry.emit(into: &body)
        send(connection, status: "200 OK", body: parts[0] == "HEAD" ? [] : body,
             contentType: "text/plain; version=0.0.4; charset=utf-8", length: body.count)
    }

    private func send(_ connection: Int32, status: String, body: [UInt8], contentType: String = "text/plain; charset=utf-8",
                      length: Int? = nil, extra: String = "") {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(length ?? body.count)\r\n\(extra)Connection: close\r\n\r\n"
        var bytes = Array(head.utf8)
        bytes += body
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return }
            offset += sent
        }
    }

    /// Whether the bytes hold a whole request head (it ends with an empty line).
    private static func holdsHead(_ bytes: [UInt8]) -> Bool {
        bytes.indices.dropFirst().contains { bytes[$0] == 10 && (bytes[$0 - 1] == 10 || $0 >= 3 && bytes[($0 - 3)...$0].elementsEqual([13, 10, 13, 10])) }
    }

    private static func socketAddress(_ address: ListenAddress) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = address.port.bigEndian
        result.sin_addr.s_addr = (UInt32(address.octets[0]) << 24 | UInt32(address.octets[1]) << 16
            | UInt32(address.octets[2]) << 8 | UInt32(address.octets[3])).bigEndian
        return result
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}
