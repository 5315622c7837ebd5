/// Why a model bundle was refused. Each refusal has its own case, so an operator (and the
/// fleet status) can tell a truncated download from a tampered or foreign model.
public enum BundleError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(size: Int, limit: Int)
    case truncated(String)
    case wrongMagic
    case unsupportedVersion(Int)
    case hashMismatch
    case untrustedKey(String)
    case badSignature
    case manifestInvalid(String)
    case tensorsMisshaped(String)
    case featureUnavailable(String)

    public var description: String {
        switch self {
        case .tooLarge(let size, let limit): "bundle of \(size) bytes exceeds the limit of \(limit) bytes"
        case .truncated(let what): "bundle is truncated: \(what)"
        case .wrongMagic: "not a Vigil model bundle (wrong magic bytes)"
        case .unsupportedVersion(let version): "bundle format version \(version) is not supported (this agent reads 1 to \(ModelBundle.formatVersion))"
        case .hashMismatch: "bundle content does not match its SHA-256 (corrupted or altered)"
        case .untrustedKey(let key): "bundle is signed by key \(key), which is not among the trusted keys"
        case .badSignature: "bundle signature does not verify"
        case .manifestInvalid(let why): "bundle manifest is invalid: \(why)"
        case .tensorsMisshaped(let why): "bundle tensors do not match the manifest: \(why)"
        case .featureUnavailable(let why): "bundle needs a feature the device profile does not compute: \(why)"
        }
    }
}
