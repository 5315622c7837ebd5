import CMosquitto

/// What went wrong talking to a broker, with libmosquitto's own words where it has them.
public enum MQTTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A broker URL that cannot be used, and why.
    case invalidURL(String, String)
    /// A libmosquitto call failed: the operation, its result code and message.
    case library(operation: String, code: Int32, message: String)
    /// A TLS file (CA, certificate, key) that cannot be read.
    case tlsFile(String)

    static func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(MQTTError) {
        guard rc != MOSQ_ERR_SUCCESS.rawValue else { return }
        throw .library(operation: operation(), code: rc, message: errorText(rc))
    }

    /// libmosquitto's text for a result code; for `MOSQ_ERR_ERRNO`, the system's.
    static func errorText(_ rc: Int32) -> String {
        String(cString: mosquitto_strerror(rc))
    }

    public var description: String {
        switch self {
        case .invalidURL(let url, let why): "broker URL \"\(url)\": \(why)"
        case .library(let operation, let code, let message): "\(operation): \(message) (mosquitto error \(code))"
        case .tlsFile(let problem): problem
        }
    }
}
