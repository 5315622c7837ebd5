import Synchronization
import VigilFleet

/// Each agent's latest drift report per device type (`DriftReport`), as the ingest receives
/// them; `serve` retrains a type whose model in service drifts at some agent.
public final class DriftBoard: Sendable {
    private let reports = Mutex<[String: DriftReport]>([:])

    public init() {}

    /// Keeps `report` as its agent's latest for its device type.
    public func record(_ report: DriftReport) {
        reports.withLock { $0["\(report.agent)/\(report.deviceType)"] = report }
    }

    /// The latest reports on model `model` at `version` of `deviceType` whose largest input PSI
    /// reaches `threshold` (all of them by default), by agent.
    public func drifting(deviceType: String, model: String, version: String, threshold: Double = 0) -> [DriftReport] {
        reports.withLock { all in
            all.values.filter { $0.deviceType == deviceType && $0.model == model && $0.version == version && $0.maxPSI >= threshold }
                .sorted { $0.agent < $1.agent }
        }
    }
}
