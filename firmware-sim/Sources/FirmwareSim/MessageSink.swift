#if canImport(Glibc)
import Glibc
#endif
import Logging
import VigilMQTT
import VigilObservability

/// Where simulated messages go: a broker, or a file.
public protocol MessageSink: AnyObject {
    func send(topic: String, payload: [UInt8], qos: Int32, retain: Bool) throws
    /// Waits until everything sent has left (acknowledged, or written).
    func finish() throws
}

/// Publishes to a broker through one MQTT connection for the whole fleet (a gateway), with
/// its own retained online/offline status and last will.
public final class BrokerSink: MessageSink {
    private let client: MQTTClient

    public init(url: BrokerURL, clientID: String,
                logger: Logger = .silent) throws {
        let status = "vigil-sim/\(clientID)/status"
        client = try MQTTClient(configuration: MQTTConfiguration(
            url: url, clientID: clientID, cleanSession: true,
            will: .init(topic: status, payload: Array(#"{"state":"offline"}"#.utf8)),
            birth: .init(topic: status, payload: Array(#"{"state":"online"}"#.utf8)),
            reconnectMinDelay: 0.2, reconnectMaxDelay: 5), logger: logger)
        client.start()
        guard client.waitUntilReady(timeout: 30) else {
            client.stop()
            throw SimulatorError("cannot connect to \(url) within 30 s")
        }
    }

    /// Publishes; with 64 Ki messages outstanding it waits for the broker to catch up, so a slow
    /// broker slows the run (which then reports how far behind schedule it fell) instead of the
    /// backlog growing in memory.
    public func send(topic: String, payload: [UInt8], qos: Int32, retain: Bool) throws {
        if client.outstanding >= 64 * 1_024, !client.waitForPublished(atMost: 32 * 1_024, timeout: 60) {
            throw SimulatorError("the broker acknowledged nothing for 60 s")
        }
        try client.publish(topic: topic, payload: payload, qos: qos, retain: retain)
    }

    public func finish() throws {
        guard client.waitForPublished(timeout: 60) else { throw SimulatorError("the broker did not acknowledge every message") }
        client.stop()
    }
}

/// Writes `topic<TAB>payload` lines, for inspection, replays and benchmarks.
public final class DumpSink: MessageSink {
    private let file: UnsafeMutablePointer<FILE>

    public init(path: String) throws {
        guard let file = fopen(path, "w") else { throw SimulatorError("cannot write \(path)") }
        self.file = file
    }

    public func send(topic: String, payload: [UInt8], qos: Int32, retain: Bool) throws {
        var line = Array(topic.utf8)
        line.append(UInt8(ascii: "\t"))
        line += payload
        line.append(UInt8(ascii: "\n"))
        guard fwrite(line, 1, line.count, file) == line.count else { throw SimulatorError("write failed") }
    }

    public func finish() throws {
        fclose(file)
    }
}

/// A simulator failure, said in a sentence.
public struct SimulatorError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
