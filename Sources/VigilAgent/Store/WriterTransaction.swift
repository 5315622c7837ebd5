import VigilCore
import VigilStore

/// The writer thread's open transaction, shared by its handlers (ingest, upload, models).
///
/// Handlers write inside it, register what must be saved before the commit, and queue effects
/// that others can see (health messages, batches, model reports) to run only after the commit
/// that holds their facts. A rollback drops those effects and tells every handler to forget
/// what it derived from the abandoned transaction.
final class WriterTransaction {
    let store: AgentStore
    private let metrics: AgentMetrics
    /// When the open transaction began (monotonic seconds), or nil when none is open.
    private(set) var start: Double?
    private var effects: [() -> Void] = []
    private var savers: [() throws(SQLiteError) -> Void] = []
    private var forgetters: [() -> Void] = []

    init(store: AgentStore, metrics: AgentMetrics) {
        self.store = store
        self.metrics = metrics
    }

    /// Opens a transaction unless one is open.
    func begin() throws(SQLiteError) {
        guard start == nil else { return }
        try store.beginTransaction()
        start = MonotonicClock.now()
    }

    /// `save` runs inside every commit, before it (device state, counters).
    func onCommit(_ save: @escaping () throws(SQLiteError) -> Void) { savers.append(save) }

    /// `forget` runs after a rollback: drop in-memory state derived from the abandoned work.
    func onRollback(_ forget: @escaping () -> Void) { forgetters.append(forget) }

    /// `effect` runs once the open transaction commits, and never if it rolls back.
    func afterCommit(_ effect: @escaping () -> Void) { effects.append(effect) }

    /// Saves, commits, then runs the queued effects in order.
    func commit() throws(SQLiteError) {
        guard start != nil else { return }
        let started = MonotonicClock.now()
        for save in savers { try save() }
        try store.commit()
        metrics.recordCommit(seconds: MonotonicClock.now() - started)
        start = nil
        let due = effects
        effects.removeAll()
        for effect in due { effect() }
    }

    /// Abandons the open transaction after a failure.
    func rollback() {
        store.rollback()
        start = nil
        effects.removeAll()
        for forget in forgetters { forget() }
    }
}
