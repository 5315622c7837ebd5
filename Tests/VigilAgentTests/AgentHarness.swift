#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Logging
import VigilAgent
import VigilCore
import VigilMQTT
import VigilObservability
import VigilStore
import VigilTestSupport

/// A real broker, a temp folder with device profiles and an agent config, and helpers to run the
/// agent (in this process or as the `vigil-agent` executable) and read its database.
final class AgentHarness {
    let directory: TemporaryDirectory
    let broker: TestBroker
    var database: String { directory.file("agent.db") }
    var configPath: String { directory.file("agent.json") }

    /// Motors send blocks and single values per sensor topic; fans send all sensors at once,
    /// with millisecond timestamps.
    static let motorProfile = """
        {"type": "motor", "topics": ["plant/motor/{device}/{sensor}"], "timestamp_unit": "s",
         "sensors": [{"name": "vibration", "unit": "g", "kind": "block", "rate_hz": 1024, "min": -50, "max": 50},
                     {"name": "temperature", "unit": "degC", "kind": "value", "min": -40, "max": 200}],
         "features": [{"sensor": "vibration", "window": {"size": 256, "hop": 256}, "features": ["rms", "kurtosis", "dominant_frequency"]},
                      {"sensor": "temperature", "window": {"seconds": 10, "hop_seconds": 10}, "features": ["count", "mean", "max"]}]}
        """
    static let fanProfile = """
        {"type": "fan", "topics": ["plant/fan/{device}/telemetry"], "timestamp_unit": "ms",
         "sensors": [{"name": "temperature", "unit": "degC", "kind": "value", "min": -40, "max": 150},
                     {"name": "current", "unit": "A", "kind": "value", "min": 0, "max": 100}]}
        """

    init(persistence: Bool = false, brokerConfiguration: String = "") throws {
        directory = try TemporaryDirectory("vigil-agent-test")
        broker = try TestBroker(configuration: brokerConfiguration, persistence: persistence)
        try writeFile(directory.file("devices/motor.json"), Self.motorProfile, makeFolder: true)
        try writeFile(directory.file("devices/fan.json"), Self.fanProfile)
        try writeConfiguration()
    }

    deinit {
        directory.remove()
    }

    /// Writes the agent config; `extraBroker` holds more broker fields and `extra` more
    /// top-level fields, as JSON text.
    func writeConfiguration(url: String? = nil, broker extraBroker: String = #", "reconnect_min_delay": 0.2, "reconnect_max_delay": 1"#,
                            _ extra: String = "") throws {
        try writeFile(configPath, """
            {
              "agent_id": "edge-test",
              "broker": {"url": "\(url ?? broker.url)", "clean_session": false, "qos": 1\(extraBroker)},
              "database": "agent.db",
              "devices": "devices"\(extra.isEmpty ? "" : ",\n  " + extra)
            }
            """)
    }

    /// What the in-process agents logged.
    let log = LogRecorder()

    /// Loads the config and starts an agent in this process, waiting until it is subscribed
    /// (upstream too, unless `waitForUpstream` is false).
    func startAgent(waitForUpstream: Bool = true) throws -> Agent {
        let agent = try Agent(configuration: AgentConfiguration.load(file: configPath), logger: log.logger)
        agent.start()
        guard agent.waitUntilReady(timeout: 10, upstream: waitForUpstream) else { throw TestFailure("agent did not subscribe") }
        return agent
    }

    /// Starts `vigil-agent run` as a process with `arguments` added, and waits until it has
    /// subscribed (it logs so at level info; unless `waitForSubscription` is false).
    func startAgentProcess(arguments: [String] = [], waitForSubscription: Bool = true) throws -> ChildProcess {
        let log = directory.file("agent.log")
        // The log is appended to across restarts: wait for one more subscription than it holds.
        let before = Self.subscriptions(in: (try? readFile(log)) ?? "")
        let process = try ChildProcess(buildProductsDirectory() + "/vigil-agent", ["run", "--config", configPath] + arguments, log: log)
        guard waitForSubscription else { return process }
        guard eventually(timeout: 10, { Self.subscriptions(in: process.output()) > before || process.hasExited }), !process.hasExited else {
            throw TestFailure("vigil-agent did not subscribe: \(process.output())")
        }
        return process
    }

    private static func subscriptions(in log: String) -> Int {
        log.split(separator: "\n").filter { $0.contains("msg=subscribed") }.count
    }

    func publisher(_ id: String = "publisher") throws -> MQTTClient {
        try connectedClient(broker.url, id: id)
    }

    /// A read-only look at the agent's database.
    func query(_ sql: String) throws -> [[SQLValue]] {
        try Database(path: database, readOnly: true).rows(sql)
    }

    func integer(_ sql: String) throws -> Int64 {
        try query(sql).first?.first?.int64 ?? 0
    }

    /// Waits until the agent has committed `count` messages in all: stored, duplicate or refused.
    func waitUntilIngested(_ count: Int, timeout: Double = 30) throws {
        let done = eventually(timeout: timeout) {
            (try? integer("SELECT sum(value) FROM counters WHERE name IN ('messages_stored', 'duplicates') OR name LIKE 'dead_letters.%'")) ?? 0 >= Int64(count)
        }
        guard done else { throw TestFailure("the agent did not commit \(count) messages in \(timeout) s") }
    }

    func counter(_ name: String) throws -> Int64 {
        try integer("SELECT value FROM counters WHERE name = '\(name)'")
    }

    /// Scrapes the agent's metrics until `done` holds for the body (metrics follow commits);
    /// returns the last body, whether or not it did.
    func scrape(_ agent: Agent, until done: (String) -> Bool) throws -> String {
        let port = Int(try agent.metricsAddress.map(\.port) ?? { throw TestFailure("the agent serves no metrics") }())
        var body = ""
        _ = eventually {
            body = (try? httpRequest(port: port, "GET /metrics HTTP/1.1").body) ?? ""
            return done(body)
        }
        return body
    }
}

/// Publishes messages at QoS 1 and waits for the broker's acknowledgements (not for the agent).
func publishAll(_ client: MQTTClient, _ messages: [(topic: String, payload: String)]) throws {
    for message in messages { try client.publish(topic: message.topic, text: message.payload, qos: 1) }
    guard client.waitForPublished(timeout: 20) else { throw TestFailure("publishes not acknowledged") }
}

/// Publishes `count` vibration blocks of 1,024 samples (4 KiB stored) from motor m1, seq 0 on,
/// 500 at a time.
func publishBlocks(_ client: MQTTClient, count: Int) throws {
    let block = (0..<1024).map { String(Double($0 % 97) / 10 - 4) }.joined(separator: ",")
    for start in stride(from: 0, to: count, by: 500) {
        try publishAll(client, (start..<min(count, start + 500)).map {
            ("plant/motor/m1/vibration", #"{"seq": \#($0), "ts": \#(1750000000 + $0), "values": [\#(block)]}"#)
        })
    }
}

/// Log lines an in-process agent wrote, for tests that check what it noticed.
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])

    func record(_ line: String) { lines.withLock { $0.append(line) } }

    /// A logger whose lines (key=value, as the agent writes them) land here, debug and above.
    var logger: Logger {
        Logger(label: "vigil-agent", factory: { [self] in KeyValueLogHandler(label: $0, level: .debug, write: record) })
    }

    var all: [String] { lines.withLock { $0 } }
}

/// Watches files while a test runs and keeps the largest total size they reached.
final class DiskWatcher: @unchecked Sendable {
    private let stopped = Atomic<Bool>(false)
    private let largest = Atomic<Int64>(0)
    private var thread: NativeThread?
    /// The largest size of each file.
    private(set) var largestOf: [Int64]

    init(_ paths: [String]) {
        largestOf = paths.map { _ in 0 }
        thread = NativeThread(name: "disk-watcher") { [self] in
            while !stopped.load(ordering: .relaxed) {
                let sizes = paths.map(fileSize)
                for (index, size) in sizes.enumerated() { largestOf[index] = max(largestOf[index], size) }
                let total = sizes.reduce(0, +)
                if total > largest.load(ordering: .relaxed) { largest.store(total, ordering: .relaxed) }
                usleep(1_000)
            }
        }
    }

    /// Stops watching; returns the largest total seen.
    func stop() -> Int64 {
        stopped.store(true, ordering: .relaxed)
        thread?.join()
        return largest.load(ordering: .relaxed)
    }
}
