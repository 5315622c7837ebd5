import ArgumentParser
import Logging
import VigilObservability

/// How a long-running trainer command is operated: its log level, and where it serves
/// Prometheus metrics. `ingest` and `serve` share them.
struct OperationOptions: ParsableArguments {
    @Option(help: "Log events at this level and above: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(help: "Serve Prometheus metrics at http://ADDRESS/metrics, e.g. 127.0.0.1:9465 (off when absent).")
    var metricsListen: String?

    func validate() throws {
        do {
            _ = try Logger.Level(parsing: logLevel)
            _ = try metricsListen.map { text throws(ListenAddressError) in try ListenAddress(parsing: text) }
        } catch let error as LogLevelError {
            throw ValidationError("--log-level: \(error)")
        } catch {
            throw ValidationError("--metrics-listen: \(error)")
        }
    }

    /// The trainer's logger: key=value lines on standard error at the chosen level.
    var logger: Logger {
        let level = (try? Logger.Level(parsing: logLevel)) ?? .info
        return Logger(label: "vigil-trainer", factory: { KeyValueLogHandler(label: $0, level: level) })
    }

    /// The metrics endpoint, bound and started, when `--metrics-listen` is given.
    func startMetrics(_ metrics: TrainerMetrics) throws -> MetricsServer? {
        guard let text = metricsListen else { return nil }
        let server = try MetricsServer(address: ListenAddress(parsing: text), registry: metrics.registry)
        server.start()
        logger.info("serving metrics", metadata: ["url": "http://\(server.address)/metrics"])
        return server
    }
}
