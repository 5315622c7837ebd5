#if canImport(Glibc)
import Glibc
#endif
import VigilCore

/// A real Prometheus server (Debian's `prometheus`) on a free loopback port, scraping the given
/// loopback targets every second, with its data in a temp folder; stopped by its pid.
public final class TestPrometheus: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private var process: ChildProcess?

    /// Starts it scraping `/metrics` on `targets` (ports on 127.0.0.1) and waits until it is ready.
    public init(scraping targets: [Int]) throws {
        directory = try TemporaryDirectory("vigil-prometheus")
        port = try freePort()
        try writeFile(directory.file("prometheus.yml"), """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: vigil
                static_configs:
                  - targets: [\(targets.map { "'127.0.0.1:\($0)'" }.joined(separator: ", "))]

            """)
        let process = try ChildProcess("prometheus", ["--config.file=\(directory.file("prometheus.yml"))",
                                                      "--storage.tsdb.path=\(directory.file("data"))",
                                                      "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn"],
                                       log: directory.file("prometheus.log"))
        self.process = process
        guard eventually(timeout: 30, { process.hasExited || isListening(pid: process.pid, port: port) && (try? httpRequest(port: port, "GET /-/ready HTTP/1.1"))?.status == 200 }),
              !process.hasExited else {
            throw TestFailure("prometheus did not start on port \(port): \(process.output())")
        }
    }

    /// The value of an instant PromQL query that returns one series, or nil when it returns
    /// none (yet).
    public func query(_ promql: String) throws -> Double? {
        let answer = try httpRequest(port: port, "GET /api/v1/query?query=\(Self.percentEncoded(promql)) HTTP/1.1")
        guard answer.status == 200 else { throw TestFailure("prometheus answered \(answer.status): \(answer.body)") }
        let json = try JSONParser.parse(answer.body)
        guard case .array(let results)? = json["data"]?["result"] else { throw TestFailure("no result in \(answer.body)") }
        guard let first = results.first else { return nil }
        guard results.count == 1, case .array(let value)? = first["value"], value.count == 2, case .string(let text) = value[1] else {
            throw TestFailure("\(promql) gave \(results.count) series: \(answer.body)")
        }
        return Double(text)
    }

    /// Whether every scrape target is up.
    public func targetsUp() throws -> Bool {
        try query("min(up)") == 1
    }

    public func stop() {
        process?.stop()
        process = nil
    }

    private static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || "-_.~".utf8.contains(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }

    deinit {
        stop()
        directory.remove()
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
