import Logging

extension Logger {
    /// This logger with `component=name` on every line: one per handler (ingest, upload,
    /// models, mqtt), so an operator can filter a component's lines.
    public func component(_ name: String) -> Logger {
        var logger = self
        logger[metadataKey: "component"] = .string(name)
        return logger
    }

    /// A logger that drops everything: for library code run where nobody reads the log.
    public static var silent: Logger { Logger(label: "silent", factory: { _ in SwiftLogNoOpLogHandler() }) }
}
