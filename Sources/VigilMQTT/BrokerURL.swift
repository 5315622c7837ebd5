/// Where a broker is: `mqtt://host:port` (plain TCP, default port 1883) or `mqtts://host:port`
/// (TLS, default port 8883).
public struct BrokerURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Whether the connection uses TLS.
    public var tls: Bool

    public init(host: String, port: Int, tls: Bool) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// Parses `text`, saying what is wrong with it when it cannot.
    public init(parsing text: String) throws(MQTTError) {
        let scheme: Substring
        let rest: Substring
        if let range = text.firstRange(of: "://") {
            scheme = text[..<range.lowerBound]
            rest = text[range.upperBound...]
        } else {
            throw MQTTError.invalidURL(text, "expected mqtt://host:port or mqtts://host:port")
        }
        switch scheme {
        case "mqtt": tls = false
        case "mqtts", "ssl", "tls": tls = true
        default: throw MQTTError.invalidURL(text, "scheme must be mqtt or mqtts, got \"\(scheme)\"")
        }
        var authority = rest
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        guard !authority.contains("/"), !authority.contains("@") else {
            throw MQTTError.invalidURL(text, "give only host and port; credentials go in their own fields")
        }
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            guard let port = Int(authority[authority.index(after: colon)...]), (1...65535).contains(port) else {
                throw MQTTError.invalidURL(text, "port must be a number from 1 to 65535")
            }
            self.port = port
        } else {
            host = String(authority)
            port = tls ? 8883 : 1883
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw MQTTError.invalidURL(text, "host is missing") }
    }

    public var description: String { "\(tls ? "mqtts" : "mqtt")://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}
