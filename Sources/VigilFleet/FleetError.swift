/// A fleet message that cannot be accepted, with the sentence that says why. `reason` is the
/// short code counted and reported (`malformed`, `unsupported_format`, `unsigned`,
/// `untrusted_signer`, `bad_signature`).
public struct FleetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var detail: String

    public init(_ reason: String, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason): \(detail)" }
}
