import Testing
import VigilAgent
import VigilCore
import VigilTestSupport

@Suite("Agent configuration")
struct ConfigurationTests {
    func loadError(_ text: String) throws -> ConfigurationError? {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeFile(directory.file("agent.json"), text)
        do {
            _ = try AgentConfiguration.load(file: directory.file("agent.json"))
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsAndRelativePaths() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeFile(directory.file("agent.json"), #"{"broker": {"url": "mqtt://10.1.2.3"}, "max_database_size": "512 MiB"}"#)
        let configuration = try AgentConfiguration.load(file: directory.file("agent.json"))
        #expect(configuration.database == directory.file("vigil.db"))
        #expect(configuration.devices == directory.file("devices"))
        #expect(configuration.broker.url.port == 1883)
        #expect(configuration.broker.cleanSession == false)
        #expect(configuration.commitIntervalMilliseconds == 50)
        #expect(configuration.maxDatabaseSize.bytes == 512 << 20)
        #expect(configuration.maxPayloadSize.bytes == 256 << 10)
        #expect(configuration.clockToleranceSeconds == 60)
    }

    @Test(arguments: [
        (#"{}"#, "broker", "is required"),
        (#"{"broker": {"url": "http://x"}}"#, "broker.url", "scheme must be mqtt or mqtts"),
        (#"{"broker": {"url": 5}}"#, "broker.url", "expected a string"),
        (#"{"broker": {"url": "mqtt://x", "qos": 3}}"#, "broker.qos", "must be 0, 1 or 2"),
        (#"{"broker": {"url": "mqtt://x", "pasword": "p"}}"#, "broker.pasword", "unknown field"),
        (#"{"broker": {"url": "mqtt://x", "password": "p"}}"#, "broker.password", "needs a username"),
        (#"{"broker": {"url": "mqtt://x", "ca_file": "ca.crt"}}"#, "broker.ca_file", "need an mqtts:// url"),
        (#"{"broker": {"url": "mqtts://x", "cert_file": "c.crt"}}"#, "broker.key_file", "both cert_file and key_file"),
        (#"{"broker": {"url": "mqtt://x"}, "commit_interval_ms": 0}"#, "commit_interval_ms", "must be 1 to 60000"),
        (#"{"broker": {"url": "mqtt://x"}, "max_database_size": "lots"}"#, "max_database_size", "is not a size"),
        (#"{"broker": {"url": "mqtt://x"}, "max_database_size": 1000}"#, "max_database_size", "at least 1 MiB"),
        (#"{"broker": {"url": "mqtt://x"}, "synchronous": "sometimes"}"#, "synchronous", ""),
        (#"{"broker": {"url": "mqtt://x"}, "agent_id": "a/b"}"#, "agent_id", "without '/'"),
        (#"{"broker": {"url": "mqtt://x"}, "topics": []}"#, "topics", "non-empty topic filters"),
        (#"{"broker": {"url": "mqtt://x"}, "clock_tolerance_seconds": -1}"#, "clock_tolerance_seconds", "0 (off) or more"),
        (#"{"broker": {"url": "mqtt://x"}"#, "", "not valid JSON"),
    ])
    func refusalsNameTheField(text: String, field: String, problem: String) throws {
        let found = try #require(try loadError(text))
        #expect(found.field == field, "\(found)")
        #expect(found.problem.contains(problem), "\(found)")
        #expect(found.file.hasSuffix("agent.json"))
    }

    /// The executable says what is wrong and exits 78 for a bad config, 64 for bad usage, before
    /// touching the network.
    @Test func commandLineReportsABadConfig() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeFile(directory.file("agent.json"), #"{"broker": {"url": "mqtt://127.0.0.1:1", "keep_alive": 1}}"#)
        let log = directory.file("out.log")
        let status = try ChildProcess.run(buildProductsDirectory() + "/vigil-agent", ["run", "--config", directory.file("agent.json")], log: log)
        #expect(status == 78)
        #expect(try readFile(log).contains("agent.json: broker.keep_alive: must be 5 to 3600 seconds, got 1"))
        #expect(try ChildProcess.run(buildProductsDirectory() + "/vigil-agent", ["run"], log: log) == 64)
        #expect(try ChildProcess.run(buildProductsDirectory() + "/vigil-agent", ["run", "--confg", "x"], log: log) == 64)
        #expect(try ChildProcess.run(buildProductsDirectory() + "/vigil-agent", ["watch", "--db", "x", "--interval", "abc"], log: log) == 64)
        #expect(try ChildProcess.run(buildProductsDirectory() + "/vigil-agent", ["help"], log: log) == 0)
    }

    @Test func missingProfileFolderIsNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try writeFile(directory.file("agent.json"), #"{"broker": {"url": "mqtt://127.0.0.1:1"}, "devices": "nowhere"}"#)
        #expect(throws: ConfigurationError.self) {
            _ = try Agent(configuration: AgentConfiguration.load(file: directory.file("agent.json")))
        }
    }
}
