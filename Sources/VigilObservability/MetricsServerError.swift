/// The metrics endpoint could not start listening.
public struct MetricsServerError: Error, Sendable, CustomStringConvertible {
    /// The address it was to listen on.
    public var address: ListenAddress
    /// What failed (the system call) and the system's reason.
    public var problem: String

    public var description: String { "cannot serve metrics on \(address): \(problem)" }
}
