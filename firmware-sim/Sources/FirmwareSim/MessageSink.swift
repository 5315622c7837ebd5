#if canImport(Glibc)
import Glibc
#endif
import Logging
import VigilMQTT
import VigilObservability
import VigilSparkplug

/// Where simulated messages go: a broker, or a file.
public protocol MessageSink: AnyObject {
    func send(topic: String, payload: [UInt8], qos: Int32, retain: Bool) throws
    /// Waits until everything sent has left (acknowledged, or written).
    func finish() throws
    /// Commands received for the devices since the last call (a Sparkplug host's rebirth requests).
    func commands() -> [(topic: String, payload: [UInt8])]
}

extension MessageSink {
    public func commands() -> [(topic: String, payload: [UInt8])] { [] }
}

/// Publishes to a broker through one MQTT connection for the whole fleet (a gateway), with
/// its own retained online/offline status and last will (or, speaking Sparkplug B, the edge
/// node's death as its will, and its commands subscribed).
public final class BrokerSink: MessageSink {
    private let client: MQTTClient
    private let inbox = MessageInbox(capacity: 1_000)
    private var batch = MessageBatch()

    public init(url: BrokerURL, clientID: String, sparkplug: (group: String, death: (topic: String, payload: [UInt8]))? = nil,
                logger: Logger = .silent) throws {
        let status = "vigil-sim/\(clientID)/status"
        client = try MQTTClient(configuration: MQTTConfiguration(
            url: url, clientID: clientID, cleanSession: true,
            will: sparkplug.map { .init(topic: $0.death.topic, payload: $0.death.payload, retain: false) }
                ?? .init(topic: status, payload: Array(#"{"state":"offline"}"#.utf8)),
            birth: sparkplug == nil ? .init(topic: status, payload: Array(#"{"state":"online"}"#.utf8)) : nil,
            subscriptions: sparkplug.map { [.init("\(SparkplugTopic.namespace)/\($0.group)/NCMD/\(clientID)", qos: 1)] } ?? [],
            reconnectMinDelay: 0.2, reconnectMaxDelay: 5), inbox: inbox, logger: logger)
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

    public func commands() -> [(topic: String, payload: [UInt8])] {
        // A deadline in the past: take what is there, without waiting.
        guard inbox.take(into: &batch, until: 0) else { return [] }
        var received: [(String, [UInt8])] = []
        for index in 0..<batch.count {
            batch.withMessage(at: index) { topic, payload, _ in received.append((String(decoding: topic, as: UTF8.self), Array(payload))) }
        }
        return received
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
