import Logging
import Prometheus
import Synchronization
import Testing
import VigilCore
import VigilObservability
import VigilTestSupport

@Suite("Logs and the metrics endpoint")
struct ObservabilityTests {
    @Test func listenAddressesParseOrSayWhatIsWrong() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:9464") == ListenAddress(octets: [127, 0, 0, 1], port: 9464))
        #expect(try ListenAddress(parsing: "localhost:0") == ListenAddress(octets: [127, 0, 0, 1], port: 0))
        #expect(try ListenAddress(parsing: "0.0.0.0:80").description == "0.0.0.0:80")
        for (text, problem) in [("9464", "host:port"), ("127.0.0.1:99999", "0 to 65535"), ("10.0.0:1", "IPv4"), ("a.b.c.d:1", "IPv4"),
                                ("[::1]:80", "IPv4")] {
            #expect(throws: ListenAddressError.self) { try ListenAddress(parsing: text) }
            do {
                _ = try ListenAddress(parsing: text)
            } catch {
                #expect(error.description.contains(problem), "\(text): \(error)")
            }
        }
    }

    /// One event is one line: values with spaces, quotes, `=` or line breaks are quoted and
    /// escaped; the component comes from metadata, else the label; levels below are dropped.
    @Test func logLinesAreKeyValueAndOneLineEach() {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "vigil-agent", factory: { label in
            KeyValueLogHandler(label: label, level: .notice, write: { line in lines.withLock { $0.append(line) } })
        })
        logger.info("dropped: below notice")
        logger.notice("plain", metadata: ["count": "3"])
        logger = logger.component("upload")
        logger.error("two\nlines", metadata: ["reason": #"say "no" = 1"#, "empty": ""])
        let written = lines.withLock { $0 }
        #expect(written.count == 2)
        #expect(written[0].hasSuffix(" level=notice component=vigil-agent msg=plain count=3\n"), "\(written[0])")
        #expect(written[1].hasSuffix(#" level=error component=upload msg="two\nlines" empty="" reason="say \"no\" = 1""# + "\n"), "\(written[1])")
        #expect(written.allSatisfy { $0.filter { $0 == "\n" }.count == 1 })
    }

    /// A recurring warning passes once per interval, and the next one says how many were held.
    @Test func rateLimitLetsOneThroughPerInterval() {
        var limit = LogRateLimit(interval: 60)
        #expect(limit.admit(now: 1000) == 0)
        #expect(limit.admit(now: 1001) == nil)
        #expect(limit.admit(now: 1059) == nil)
        #expect(limit.admit(now: 1060) == 2)
        #expect(limit.admit(now: 1200) == 0)
    }

    @Test func logLevelsParseByName() throws {
        #expect(try Logger.Level(parsing: "WARNING") == .warning)
        #expect(throws: LogLevelError.self) { try Logger.Level(parsing: "loud") }
    }

    /// The endpoint renders the registry, answers HEAD without a body, and a taken port is an
    /// error naming the address, not a crash.
    @Test func endpointServesTheRegistryAndRefusesATakenPort() throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "vigil", metricName: "test", unitName: "total", helpText: "")).increment(by: Int64(7))
        let server = try MetricsServer(address: ListenAddress(parsing: "127.0.0.1:0"), registry: registry)
        server.start()
        defer { server.stop() }
        let port = Int(server.address.port)
        #expect(port != 0)
        let answer = try httpRequest(port: port, "GET /metrics?x=1 HTTP/1.1")
        #expect(answer.status == 200 && answer.body.contains("vigil_test_total 7"), "\(answer)")
        let head = try httpRequest(port: port, "HEAD /metrics HTTP/1.1")
        #expect(head.status == 200 && head.body.isEmpty)
        do {
            _ = try MetricsServer(address: server.address, registry: registry)
            Issue.record("a second server bound the same port")
        } catch {
            #expect(error.description.contains("127.0.0.1:\(port)") && error.description.contains("bind"), "\(error)")
        }
    }
}
