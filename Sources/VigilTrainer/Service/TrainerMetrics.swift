import CoreMetrics
import class Prometheus.PrometheusCollectorRegistry
import struct Prometheus.PrometheusMetricsFactory
import Synchronization

/// The trainer's metrics, through swift-metrics onto a Prometheus registry that
/// `--metrics-listen` serves; every name starts with `vigil_trainer_`.
public final class TrainerMetrics: Sendable {
    /// Why the trainer refused a batch, as a label: a few kinds, never free text.
    public enum Refusal: String, Sendable, CaseIterable {
        case topic, oversized, malformed
        case agentMismatch = "agent_mismatch"
        case store
    }

    /// What became of a training round's run for one device type.
    public enum TrainingResult: String, Sendable {
        case released
        case gateRefused = "gate_refused"
        case failed
    }

    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let batchesStored: Counter
    private let batchesDuplicate: Counter
    private let rowsStored: Counter
    /// Per device type, the version gauge of its latest release.
    private let versions = Mutex<[String: (version: String, gauge: Gauge)]>([:])

    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
        batchesStored = Counter(label: "vigil_trainer_batches_stored_total", factory: factory)
        batchesDuplicate = Counter(label: "vigil_trainer_batches_duplicate_total", factory: factory)
        rowsStored = Counter(label: "vigil_trainer_rows_stored_total", factory: factory)
        for refusal in Refusal.allCases {
            _ = Counter(label: "vigil_trainer_batches_refused_total", dimensions: [("reason", refusal.rawValue)], factory: factory)
        }
    }

    /// A batch stored (with its rows), or recognised as one already held.
    func batch(stored: Bool, rows: Int) {
        if stored {
            batchesStored.increment()
            rowsStored.increment(by: rows)
        } else {
            batchesDuplicate.increment()
        }
    }

    func refused(_ reason: Refusal) {
        Counter(label: "vigil_trainer_batches_refused_total", dimensions: [("reason", reason.rawValue)], factory: factory).increment()
    }

    /// A training run's result, with its hold-out macro-F1 when it got that far.
    func training(deviceType: String, result: TrainingResult, macroF1: Double?) {
        Counter(label: "vigil_trainer_training_runs_total", dimensions: [("device_type", deviceType), ("result", result.rawValue)],
                factory: factory).increment()
        if let macroF1 {
            Gauge(label: "vigil_trainer_holdout_macro_f1", dimensions: [("device_type", deviceType)], factory: factory).record(macroF1)
        }
    }

    /// A release: its version (`vigil_trainer_release_info`, 1 for the latest per device type)
    /// and the share of agents it went to.
    func released(deviceType: String, version: String, share: Double) {
        Counter(label: "vigil_trainer_releases_total", dimensions: [("device_type", deviceType)], factory: factory).increment()
        Gauge(label: "vigil_trainer_release_share", dimensions: [("device_type", deviceType)], factory: factory).record(share)
        let gauge = Gauge(label: "vigil_trainer_release_info", dimensions: [("device_type", deviceType), ("version", version)],
                          factory: factory)
        gauge.record(1)
        let old = versions.withLock { $0.updateValue((version, gauge), forKey: deviceType) }
        if let old, old.version != version { old.gauge.destroy() }
    }
}
