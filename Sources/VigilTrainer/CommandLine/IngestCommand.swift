#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

/// `vigil-trainer ingest`: stores every agent's upstream batches until SIGINT or SIGTERM.
struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Store every agent's upstream batches once and acknowledge them, until SIGINT or SIGTERM.",
        discussion: "`train --agent-db FILE` reads the store as it reads an agent's database.")

    @OptionGroup var central: CentralOptions
    @OptionGroup var operation: OperationOptions
    @Option(help: "The trainer's SQLite store.")
    var store: String

    func run() throws {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let broker = try central.central()
        let store = try SQLiteUpstreamStore(path: store)
        let metrics = TrainerMetrics()
        let server = try operation.startMetrics(metrics)
        let ingest = try UpstreamIngest(central: broker, store: store, metrics: metrics, logger: operation.logger.component("ingest"))
        ingest.start()
        var received: Int32 = 0
        sigwait(&signals, &received)
        ingest.stop()
        server?.stop()
        let counts = ingest.snapshot
        print("ingest stopped: \(counts.stored) batches (\(counts.rows) rows) stored, \(counts.duplicates) duplicates, \(counts.refused) refused")
    }
}
