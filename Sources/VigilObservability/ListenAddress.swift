/// Where a metrics endpoint listens: an IPv4 address and a port, written `"127.0.0.1:9464"`
/// (`localhost` means 127.0.0.1; port 0 lets the system choose one).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The four octets of the IPv4 address.
    public var octets: [UInt8]
    public var port: UInt16

    public init(octets: [UInt8], port: UInt16) {
        self.octets = octets
        self.port = port
    }

    /// Parses `host:port`; the error says what is wrong with `text`.
    public init(parsing text: String) throws(ListenAddressError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw ListenAddressError(text: text, problem: "expected host:port, e.g. 127.0.0.1:9464")
        }
        let host = text[..<colon]
        guard let port = UInt16(text[text.index(after: colon)...]) else {
            throw ListenAddressError(text: text, problem: "the port must be a number from 0 to 65535")
        }
        if host == "localhost" {
            octets = [127, 0, 0, 1]
        } else {
            let parts = host.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
            guard parts.count == 4, parts.allSatisfy({ $0 != nil }) else {
                throw ListenAddressError(text: text, problem: "the host must be an IPv4 address such as 127.0.0.1, or localhost")
            }
            octets = parts.map { $0! }
        }
        self.port = port
    }

    public var description: String { octets.map(String.init).joined(separator: ".") + ":\(port)" }
}

/// A listen address that cannot be parsed.
public struct ListenAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var problem: String

    public var description: String { "\"\(text)\": \(problem)" }
}
