import CoreMetrics
import class Prometheus.PrometheusCollectorRegistry
import struct Prometheus.PrometheusMetricsFactory
import VigilCore
import VigilFleet

/// The agent's metrics, through swift-metrics onto a Prometheus registry that `metrics_listen`
/// serves. Every name starts with `vigil_`. The writer feeds them after each commit with the
/// facts that commit holds, so a scrape never counts what a rollback undid.
final class AgentMetrics: @unchecked Sendable {
    /// What one commit stored, as the metrics see it.
    struct Committed {
        var counters: IngestCounters
        /// Payload timestamps (device clock, seconds) of the messages stored.
        var published: [Double]
        /// The predictions stored.
        var predictions: [(profile: Int, windowEnd: Double, latency: Double, alarm: Bool, anomalyAlarm: Bool)]
        /// Change of the sequence numbers missing across devices.
        var missingChange: Int64
    }

    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let deviceTypes: [String]

    private let messages: Counter
    private let samples: Counter
    private let duplicates: Counter
    private let refusals: [Counter]
    private let missing: Meter
    private let lateSamples: Counter
    private let featureWindows: Counter
    private let constantWindows: Counter
    private let abstentions: Counter
    private let spikes: Counter
    private let maintenanceEvents: Counter
    private let droppedRows: (raw: Counter, uploaded: Counter, history: Counter, unsent: Counter)
    private let commitDuration: Timer
    private let publishToCommit: Timer
    private let publishToPrediction: Timer
    private let clockAhead: Counter
    private let sensorFaults: [DataQuality.Fault: Meter]
    private let suspectSensors: (stuck: Meter, drift: Meter)
    private let sparkplugDevices: (online: Meter, offline: Meter)
    private let databaseBytes: Meter
    private let outboxRows: Meter
    let uploadBatchesSent: Counter
    let uploadBatchesResent: Counter
    let uploadRowsAcknowledged: Counter
    let uplinkConnected: Meter
    private let predictions: [Counter]
    private let alarms: [Counter]
    private let anomalyAlarms: [Counter]
    private let inference: [Timer]
    private let drift: [Meter]
    /// Per (device type, input), the gauge of its PSI.
    private var inputDrift: [String: Meter] = [:]
    /// The model running per (device type, model name), with the gauge that says its version.
    private var running: [String: (version: String, gauge: Meter)] = [:]

    /// Publish-to-commit buckets in seconds: fine below 100 ms, where a healthy agent is.
    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
                                           0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Publish-to-commit latencies longer than this are device clocks far off, not latency.
    static let latencyLimit = 3600.0

    init(deviceTypes: [String], maxDatabaseBytes: Int64) {
        self.deviceTypes = deviceTypes
        var factory = PrometheusMetricsFactory(registry: registry)
        let latency = Self.latencyBuckets.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        factory.durationHistogramBuckets = [
            "vigil_publish_to_commit_seconds": latency,
            "vigil_publish_to_prediction_seconds": latency,
            "vigil_commit_duration_seconds": [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]
                .map { Duration.nanoseconds(Int64($0 * 1e9)) },
            "vigil_inference_duration_seconds": [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01]
                .map { Duration.nanoseconds(Int64($0 * 1e9)) },
        ]
        self.factory = factory
        messages = Counter(label: "vigil_messages_stored_total", factory: factory)
        samples = Counter(label: "vigil_samples_stored_total", factory: factory)
        duplicates = Counter(label: "vigil_duplicate_messages_total", factory: factory)
        refusals = DeadLetterReason.allCases.map {
            Counter(label: "vigil_messages_refused_total", dimensions: [("reason", $0.rawValue)], factory: factory)
        }
        missing = Meter(label: "vigil_messages_missing", factory: factory)
        lateSamples = Counter(label: "vigil_late_samples_total", factory: factory)
        featureWindows = Counter(label: "vigil_feature_windows_total", factory: factory)
        constantWindows = Counter(label: "vigil_constant_windows_total", factory: factory)
        abstentions = Counter(label: "vigil_abstentions_total", factory: factory)
        spikes = Counter(label: "vigil_spike_readings_total", factory: factory)
        maintenanceEvents = Counter(label: "vigil_maintenance_events_total", factory: factory)
        droppedRows = (Counter(label: "vigil_rows_dropped_total", dimensions: [("kind", "raw")], factory: factory),
                       Counter(label: "vigil_rows_dropped_total", dimensions: [("kind", "uploaded")], factory: factory),
                       Counter(label: "vigil_rows_dropped_total", dimensions: [("kind", "history")], factory: factory),
                       Counter(label: "vigil_rows_dropped_total", dimensions: [("kind", "unsent")], factory: factory))
        commitDuration = Timer(label: "vigil_commit_duration_seconds", factory: factory)
        publishToCommit = Timer(label: "vigil_publish_to_commit_seconds", factory: factory)
        publishToPrediction = Timer(label: "vigil_publish_to_prediction_seconds", factory: factory)
        clockAhead = Counter(label: "vigil_latency_unmeasurable_total", factory: factory)
        sensorFaults = Dictionary(uniqueKeysWithValues: DataQuality.Fault.allCases.map {
            ($0, Meter(label: "vigil_devices_with_sensor_fault", dimensions: [("fault", $0.rawValue)], factory: factory))
        })
        suspectSensors = (Meter(label: "vigil_devices_with_sensor_fault", dimensions: [("fault", "stuck")], factory: factory),
                          Meter(label: "vigil_devices_with_sensor_fault", dimensions: [("fault", "drift")], factory: factory))
        sparkplugDevices = (Meter(label: "vigil_sparkplug_devices", dimensions: [("state", "online")], factory: factory),
                            Meter(label: "vigil_sparkplug_devices", dimensions: [("state", "offline")], factory: factory))
        databaseBytes = Meter(label: "vigil_database_bytes", factory: factory)
        Meter(label: "vigil_database_max_bytes", factory: factory).set(maxDatabaseBytes)
        outboxRows = Meter(label: "vigil_outbox_rows", factory: factory)
        uploadBatchesSent = Counter(label: "vigil_upload_batches_sent_total", factory: factory)
        uploadBatchesResent = Counter(label: "vigil_upload_batches_resent_total", factory: factory)
        uploadRowsAcknowledged = Counter(label: "vigil_upload_rows_acknowledged_total", factory: factory)
        uplinkConnected = Meter(label: "vigil_uplink_connected", factory: factory)
        predictions = deviceTypes.map { Counter(label: "vigil_predictions_total", dimensions: [("device_type", $0)], factory: factory) }
        alarms = deviceTypes.map { Counter(label: "vigil_alarms_total", dimensions: [("device_type", $0)], factory: factory) }
        anomalyAlarms = deviceTypes.map { Counter(label: "vigil_anomaly_alarms_total", dimensions: [("device_type", $0)], factory: factory) }
        inference = deviceTypes.map { Timer(label: "vigil_inference_duration_seconds", dimensions: [("device_type", $0)], factory: factory) }
        drift = deviceTypes.map { Meter(label: "vigil_model_drift", dimensions: [("device_type", $0)], factory: factory) }
    }

    /// Adds what a commit stored; `committedAt` is the wall-clock time of the commit.
    func record(_ committed: Committed, committedAt: Double) {
        let counters = committed.counters
        messages.increment(by: counters.messages)
        samples.increment(by: counters.samples)
        duplicates.increment(by: counters.duplicates)
        for (index, amount) in counters.deadLetters.enumerated() where amount > 0 { refusals[index].increment(by: amount) }
        if committed.missingChange != 0 { missing.increment(by: Double(committed.missingChange)) }
        lateSamples.increment(by: counters.lateSamples)
        featureWindows.increment(by: counters.featureRows)
        constantWindows.increment(by: counters.constantWindows)
        abstentions.increment(by: counters.abstentions)
        spikes.increment(by: counters.spikes)
        maintenanceEvents.increment(by: counters.maintenanceEvents)
        droppedRows.raw.increment(by: counters.droppedRows)
        droppedRows.uploaded.increment(by: counters.droppedSentRows)
        droppedRows.history.increment(by: counters.droppedHistoryRows)
        droppedRows.unsent.increment(by: counters.droppedOutboxRows)
        for timestamp in committed.published { observe(publishToCommit, committedAt - timestamp) }
        for prediction in committed.predictions {
            observe(publishToPrediction, committedAt - prediction.windowEnd)
            predictions[prediction.profile].increment()
            if prediction.alarm { alarms[prediction.profile].increment() }
            if prediction.anomalyAlarm { anomalyAlarms[prediction.profile].increment() }
            inference[prediction.profile].recordNanoseconds(Int64(prediction.latency * 1e9))
        }
    }

    private func observe(_ timer: Timer, _ seconds: Double) {
        guard seconds >= 0, seconds < Self.latencyLimit else { return clockAhead.increment() }
        timer.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Sets the missing-sequence gauge from the devices as loaded.
    func setMissing(_ total: Int64) { missing.set(total) }

    /// Sets, per data fault, how many devices show it now.
    func setSensorFaults(_ counts: [DataQuality.Fault: Int]) {
        for (fault, gauge) in sensorFaults { gauge.set(counts[fault] ?? 0) }
    }

    /// Sets how many devices have a stuck or a drifting sensor by their models' judgement
    /// (`ModelScoring.suspectDevices`).
    func setSuspectDevices(_ counts: (stuck: Int, drift: Int)) {
        suspectSensors.stuck.set(counts.stuck)
        suspectSensors.drift.set(counts.drift)
    }

    /// Sparkplug devices born and not dead, and those whose death (or their node's) came last.
    func setSparkplugDevices(_ states: (online: Int, offline: Int)) {
        sparkplugDevices.online.set(states.online)
        sparkplugDevices.offline.set(states.offline)
    }

    func recordCommit(seconds: Double) { commitDuration.recordNanoseconds(Int64(seconds * 1e9)) }

    /// The database file plus its WAL on disk, and the outbox rows waiting for upload.
    func setStore(bytes: Int64, outbox: Int64?) {
        databaseBytes.set(bytes)
        if let outbox { outboxRows.set(outbox) }
    }

    /// Sets `vigil_model_info{device_type, model, version}` to 1 for each model running, and
    /// removes the series of models no longer running.
    func setRunning(_ models: [(deviceType: String, model: String, version: String)]) {
        var current: [String: (version: String, gauge: Meter)] = [:]
        for model in models {
            let key = model.deviceType + "\u{0}" + model.model
            if let known = running[key], known.version == model.version {
                current[key] = known
                continue
            }
            let gauge = Meter(label: "vigil_model_info", dimensions: [("device_type", model.deviceType), ("model", model.model),
                                                                      ("version", model.version)], factory: factory)
            gauge.set(1)
            current[key] = (model.version, gauge)
        }
        for (key, old) in running where current[key]?.version != old.version { old.gauge.destroy() }
        running = current
    }

    /// Sets each running model's input drift: `vigil_model_input_psi{device_type, input}` and
    /// the largest per device type as `vigil_model_drift`.
    func setDrift(_ drifts: [ModelScoring.Drift]) {
        for entry in drifts {
            let type = deviceTypes[entry.profile]
            for (input, psi) in zip(entry.inputs, entry.psi) {
                let key = type + "\u{0}" + input
                let gauge = inputDrift[key] ?? Meter(label: "vigil_model_input_psi", dimensions: [("device_type", type), ("input", input)],
                                                     factory: factory)
                inputDrift[key] = gauge
                gauge.set(psi)
            }
            // The largest last: a scrape that sees it sees the inputs behind it.
            drift[entry.profile].set(entry.psi.max() ?? 0)
        }
    }

    /// Counts an install, refusal or rollback of a release.
    func recordModelResult(deviceType: String, state: ModelReport.State) {
        Counter(label: "vigil_model_releases_total", dimensions: [("device_type", deviceType), ("result", state.rawValue)],
                factory: factory).increment()
    }
}
