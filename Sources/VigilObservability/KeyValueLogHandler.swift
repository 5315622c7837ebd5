import Logging
import VigilCore

/// Writes each log event as one line on standard error, stamped with UTC time, with key=value
/// fields that log collectors (journald, Loki, Vector) parse without a pattern:
/// `2026-11-27T11:39:05.123Z level=warning component=upload msg="batch not acknowledged" seq=7`.
/// The component is the `component` metadata field, or else the logger's label.
public struct KeyValueLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let component: String
    private let write: @Sendable (String) -> Void

    /// A handler for the logger labelled `label` (its component) that lets `level` and above
    /// through, writing each line with `write` (standard error unless a test captures them).
    public init(label: String, level: Logger.Level = .info, write: @escaping @Sendable (String) -> Void = StandardError.write) {
        component = label
        logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let own = event.metadata { fields.merge(own) { $1 } }
        let component = fields.removeValue(forKey: "component")?.description ?? self.component
        var line = WallClock.utc(WallClock.now(), milliseconds: true)
        line += " level=\(event.level.rawValue) component=\(Self.quoted(component)) msg=\(Self.quoted(event.message.description))"
        for key in fields.keys.sorted() {
            line += " \(key)=\(Self.quoted(fields[key]!.description))"
        }
        if let error = event.error { line += " error=\(Self.quoted("\(error)"))" }
        write(line + "\n")
    }

    /// The value as is when it needs no quotes, else as a JSON string (quotes, backslashes and
    /// control characters escaped), so one event stays one line.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.utf8.allSatisfy { $0 > 32 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") && $0 != 127 }
        return plain ? value : JSONValue.string(value).serialized(indent: 0)
    }
}

extension Logger.Level {
    /// Parses a `--log-level` value: trace, debug, info, notice, warning, error or critical.
    public init(parsing text: String) throws(LogLevelError) {
        guard let level = Logger.Level(rawValue: text.lowercased()) else { throw LogLevelError(text: text) }
        self = level
    }
}

/// A log level name that is not one of swift-log's.
public struct LogLevelError: Error, Sendable, CustomStringConvertible {
    public var text: String

    public var description: String {
        "unknown log level \"\(text)\" (one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))"
    }
}
