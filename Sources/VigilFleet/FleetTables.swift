import VigilCore

/// The tables the agent and the trainer both hold (`feature_sets`, `features`,
/// `maintenance_events`, `predictions`), their columns and the encodings of their values,
/// defined once. The trainer's rows add an `agent` column and key series by (agent, device,
/// sensor); everything else is the same, so one dataset reader serves both.
public enum FleetTables {
    /// `feature_sets(id, device_type, sensor, window_kind, window, names)`: `window` canonical,
    /// `names` a JSON list.
    public static let featureSetColumns = "device_type, sensor, window_kind, window, names"
    /// `features(series, feature_set, window_start, window_end, sample_count, vector)`.
    public static let featureColumns = "series, feature_set, window_start, window_end, sample_count, vector"
    /// `maintenance_events(device, kind, fault_mode, ts, source, note, received_at)`.
    public static let eventColumns = "device, kind, fault_mode, ts, source, note, received_at"
    /// `readings(series, seq, ts, value, rate_hz, samples)`: a value, or `samples` as float32.
    public static let readingColumns = "series, seq, ts, value, rate_hz, samples"
    /// `predictions(device, model, version, window_end, predicted, probabilities)`: probabilities a JSON list.
    public static let predictionColumns = "device, model, version, window_end, predicted, probabilities"

    /// Rewrites `feature_sets.window` from the JSON the first agent databases held
    /// (`{"size":256,"hop":32}`, `{"seconds":3600.0,"hop_seconds":1800.0}`) to the canonical
    /// text; a migration step of both the agent's database and the trainer's store.
    public static let canonicalWindowsMigration = """
        UPDATE feature_sets SET window = CASE window_kind
            WHEN 'count' THEN 'count:' || json_extract(window, '$.size') || ':' || json_extract(window, '$.hop')
            ELSE 'time:' || (SELECT group_concat(CASE WHEN v = CAST(v AS INTEGER) THEN CAST(CAST(v AS INTEGER) AS TEXT)
                                                      ELSE CAST(v AS TEXT) END, ':')
                             FROM (SELECT json_extract(window, '$.seconds') AS v UNION ALL
                                   SELECT json_extract(window, '$.hop_seconds')))
            END;
        """

    /// A feature vector as stored: little-endian float64, in the set's `names` order.
    public static func blob(_ values: [Double]) -> [UInt8] {
        #if _endian(little)
        // The doubles' own bytes: one copy, where appending each value's bytes cost a tenth of
        // the time the agent spends on a vibration block.
        return values.withUnsafeBytes { Array($0) }
        #else
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 8)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
        #endif
    }

    /// A stored feature vector read back.
    public static func vector(_ blob: [UInt8]) -> [Double] {
        stride(from: 0, to: blob.count - blob.count % 8, by: 8).map { start in
            var bits: UInt64 = 0
            for offset in 0..<8 { bits |= UInt64(blob[start + offset]) << (8 * offset) }
            return Double(bitPattern: bits)
        }
    }

    /// A block's samples as stored (`readings.samples`): little-endian float32.
    public static func samples(_ blob: [UInt8]) -> [Float] {
        stride(from: 0, to: blob.count - blob.count % 4, by: 4).map { start in
            var bits: UInt32 = 0
            for offset in 0..<4 { bits |= UInt32(blob[start + offset]) << (8 * offset) }
            return Float(bitPattern: bits)
        }
    }

    /// The same the other way.
    public static func blob(_ samples: [Float]) -> [UInt8] {
        #if _endian(little)
        return samples.withUnsafeBytes { Array($0) }
        #else
        var bytes: [UInt8] = []
        bytes.reserveCapacity(samples.count * 4)
        for sample in samples { withUnsafeBytes(of: sample.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
        #endif
    }

    /// Names or probabilities as a JSON list, as the `names` and `probabilities` columns hold them.
    public static func text(_ names: [String]) -> String { JSONValue.array(names.map(JSONValue.string)).serialized(indent: 0) }
    public static func text(_ numbers: [Double]) -> String { JSONValue.array(numbers.map(JSONValue.number)).serialized(indent: 0) }

    /// Reads a `probabilities` column back.
    public static func numbers(_ text: String) -> [Double] {
        list(text).compactMap { if case .number(let value) = $0 { value } else { nil } }
    }

    /// Reads a `names` column back.
    public static func names(_ text: String) -> [String] {
        list(text).compactMap { if case .string(let value) = $0 { value } else { nil } }
    }

    private static func list(_ text: String) -> [JSONValue] {
        guard case .array(let items)? = try? JSONParser.parse(Array(text.utf8)) else { return [] }
        return items
    }
}
