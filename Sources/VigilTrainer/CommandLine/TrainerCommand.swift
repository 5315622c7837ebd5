import ArgumentParser
import VigilCore

/// `vigil-trainer`: turns fleet data into signed int8 models and rolls them out. Unknown flags
/// and bad values are refused with exit status 64 (usage); a failure exits 1, a challenger the
/// champion gate refuses 3, a rollout that rolled back 4.
public struct TrainerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vigil-trainer",
        abstract: "Turns fleet data into signed int8 models and rolls them out to the fleet.",
        subcommands: [KeygenCommand.self, TrainCommand.self, EvaluateCommand.self, IngestCommand.self, ServeCommand.self,
                      ReleaseCommand.self])

    public init() {}

    /// Parses and runs `arguments` (without the program name); returns the exit status, having
    /// printed what went wrong. The executable and the tests call this.
    public static func run(_ arguments: [String]) -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch {
            let status = exitCode(for: error).rawValue
            if status != 0 {
                let message = fullMessage(for: error)
                if !message.isEmpty { StandardError.write(message + "\n") }
            } else {
                print(fullMessage(for: error))
            }
            return status
        }
    }

    /// A line on standard error.
    @Sendable
    static func log(_ line: String) {
        StandardError.write("vigil-trainer: \(line)\n")
    }
}
