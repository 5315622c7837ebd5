import VigilCore

/// What the writer did since its last commit, added to the `counters` table in the same
/// transaction as the rows they count, so the counts and the data never disagree.
struct IngestCounters {
    var messages: Int64 = 0
    var rows: Int64 = 0
    var samples: Int64 = 0
    var duplicates: Int64 = 0
    var droppedRows: Int64 = 0
    var droppedSentRows: Int64 = 0
    var droppedHistoryRows: Int64 = 0
    var droppedOutboxRows: Int64 = 0
    var maintenanceEvents: Int64 = 0
    var featureRows: Int64 = 0
    var lateSamples: Int64 = 0
    var predictions: Int64 = 0
    /// Feature windows whose sensor read one value throughout (stuck), and windows a model did
    /// not score because one of its inputs came from such a window.
    var constantWindows: Int64 = 0
    var abstentions: Int64 = 0
    /// Value readings left out of feature windows as spikes (`SpikeFilter`); they stay stored.
    var spikes: Int64 = 0
    /// Rebirth requests sent to Sparkplug edge nodes the agent lost track of.
    var rebirthRequests: Int64 = 0
    var deadLetters = [Int64](repeating: 0, count: DeadLetterReason.allCases.count)

    /// Counter names in the database, one per field.
    static let messagesName = "messages_stored"
    static let rowsName = "rows_stored"
    static let samplesName = "samples_stored"
    static let duplicatesName = "duplicates"
    static let droppedRowsName = "rows_dropped_for_size"
    static let droppedSentRowsName = "uploaded_rows_dropped_for_size"
    static let droppedHistoryRowsName = "history_rows_dropped_for_size"
    static let droppedOutboxRowsName = "unsent_rows_dropped_for_size"
    static let maintenanceEventsName = "maintenance_events"
    static let featureRowsName = "feature_rows"
    static let lateSamplesName = "late_samples"
    static let predictionsName = "predictions"
    static let constantWindowsName = "constant_windows"
    static let abstentionsName = "abstentions"
    static let spikesName = "spike_readings"
    static let rebirthRequestsName = "sparkplug_rebirth_requests"
    static func deadLetterName(_ reason: DeadLetterReason) -> String { "dead_letters.\(reason.rawValue)" }

    mutating func deadLetter(_ reason: DeadLetterReason) {
        deadLetters[DeadLetterReason.allCases.firstIndex(of: reason)!] += 1
    }

    /// Name and amount of every non-zero counter.
    var nonZero: [(String, Int64)] {
        var all = [(Self.messagesName, messages), (Self.rowsName, rows), (Self.samplesName, samples),
                   (Self.duplicatesName, duplicates), (Self.droppedRowsName, droppedRows),
                   (Self.droppedSentRowsName, droppedSentRows), (Self.droppedHistoryRowsName, droppedHistoryRows),
                   (Self.droppedOutboxRowsName, droppedOutboxRows),
                   (Self.maintenanceEventsName, maintenanceEvents), (Self.featureRowsName, featureRows),
                   (Self.lateSamplesName, lateSamples), (Self.predictionsName, predictions),
                   (Self.constantWindowsName, constantWindows), (Self.abstentionsName, abstentions),
                   (Self.spikesName, spikes),
                   (Self.rebirthRequestsName, rebirthRequests)]
        for (index, reason) in DeadLetterReason.allCases.enumerated() {
            all.append((Self.deadLetterName(reason), deadLetters[index]))
        }
        return all.filter { $0.1 != 0 }
    }
}
