/// A configuration or profile file that cannot be used, naming the file, the field and the
/// problem, e.g. `agent.json: broker.url: scheme must be mqtt or mqtts, got "http"`.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file at fault, as the user named it.
    public var file: String
    /// The field's path inside the file (`sensors[1].max`), empty for the whole file.
    public var field: String
    /// What is wrong with it.
    public var problem: String

    public init(file: String, field: String, problem: String) {
        self.file = file
        self.field = field
        self.problem = problem
    }

    public var description: String {
        field.isEmpty ? "\(file): \(problem)" : "\(file): \(field): \(problem)"
    }
}
