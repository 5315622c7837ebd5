/// Why a model could not be trained from the windows a database holds: too few labelled ones, a
/// network that never reached a finite loss, or a champion that cannot be compared on them. The
/// data is at fault, not the command line.
public struct TrainingError: Error, Sendable, CustomStringConvertible {
    /// The database the windows came from (an agent's or the trainer's store), as the user named it.
    public var database: String
    /// What is wrong.
    public var problem: String

    public init(database: String, problem: String) {
        self.database = database
        self.problem = problem
    }

    public var description: String { "\(database): \(problem)" }
}
