import Logging
import VigilCore

extension Logger {
    /// Logs at `level` if `limit` lets it through, with `suppressed=N` when events were held back.
    public func log(_ level: Logger.Level, _ message: @autoclosure () -> Logger.Message, limit: inout LogRateLimit,
                    metadata: @autoclosure () -> Logger.Metadata = [:]) {
        guard level >= logLevel, let held = limit.admit() else { return }
        var fields = metadata()
        if held > 0 { fields["suppressed"] = "\(held)" }
        log(level: level, message(), metadata: fields)
    }
}
