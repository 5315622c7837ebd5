#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 request to 127.0.0.1 over a plain socket, answer read to the end: enough to
/// scrape a metrics endpoint or ask Prometheus' HTTP API from a test.
public func httpRequest(port: Int, _ requestLine: String, timeout: Int = 5) throws -> (status: Int, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var limit = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
    let request = Array("\(requestLine)\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
        throw TestFailure("cannot send the request to 127.0.0.1:\(port)")
    }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { break }
        response += chunk[0..<count]
    }
    guard let headEnd = find([13, 10, 13, 10], in: response[...]),
          let status = Int(String(decoding: response[..<headEnd], as: UTF8.self).split(separator: " ").dropFirst().first ?? "") else {
        throw TestFailure("not an HTTP answer from 127.0.0.1:\(port): \(String(decoding: response.prefix(200), as: UTF8.self))")
    }
    let head = String(decoding: response[..<headEnd], as: UTF8.self).lowercased()
    var body = response[(headEnd + 4)...]
    // Go answers in chunks: join them.
    if head.contains("transfer-encoding: chunked") {
        var joined: [UInt8] = []
        while let lineEnd = find([13, 10], in: body), let size = Int(String(decoding: body[..<lineEnd], as: UTF8.self), radix: 16), size > 0 {
            joined += body[(lineEnd + 2)...].prefix(size)
            body = body[min(body.endIndex, lineEnd + 2 + size + 2)...]
        }
        body = joined[...]
    }
    let text = String(decoding: body, as: UTF8.self)
    return (status, text)
}

/// Where `pattern` first occurs in `bytes`.
private func find(_ pattern: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
    guard bytes.count >= pattern.count else { return nil }
    return (bytes.startIndex...(bytes.endIndex - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
}
