import VigilCore

/// Which raw readings of a device type go upstream beside its feature windows (config
/// `upstream.raw_readings`, per device type): none (the default), every Nth message of each
/// device, or every reading within some seconds of an alarm (a prediction of trouble), before
/// and after it.
public enum RawReadings: Sendable, Equatable {
    case off
    case every(Int)
    case aroundAlarms(seconds: Double)

    /// `"off"`, `{"every": 10}` or `{"around_alarms": 300}`.
    init(_ value: JSONValue, field: String, reader: JSONObjectReader) throws(ConfigurationError) {
        if value == .string("off") {
            self = .off
            return
        }
        let entry = try JSONObjectReader(value, file: reader.file, path: reader.fieldPath(field))
        if entry.value("every") != nil {
            let every = try entry.integer("every")
            guard every >= 1 else { throw entry.error("every", "must be at least 1, got \(every)") }
            self = .every(every)
        } else {
            let seconds = try entry.double("around_alarms")
            guard seconds > 0 else { throw entry.error("around_alarms", "must be positive, got \(seconds)") }
            self = .aroundAlarms(seconds: seconds)
        }
        try entry.rejectUnknownFields()
    }
}
