import VigilCore
import VigilFleet

/// Where the trainer keeps what agents send. SQLite by default; a PostgreSQL store for a large
/// fleet implements the same two calls.
public protocol UpstreamStore: AnyObject {
    /// Stores `batch` in one transaction unless this (agent, epoch, seq) is already stored;
    /// returns whether it stored it and the highest sequence of that agent's epoch held without
    /// a gap.
    func store(_ batch: UpstreamBatch) throws -> (stored: Bool, acknowledged: Int64)
    /// The highest sequence of `agent`'s `epoch` held without a gap (-1 for none).
    func acknowledged(agent: String, epoch: String) throws -> Int64
}
