import VigilCore

/// A Sparkplug B topic: `spBv1.0/<group>/<message type>/<edge node>[/<device>]`.
public struct SparkplugTopic: Sendable, Equatable, CustomStringConvertible {
    public enum MessageType: String, Sendable {
        case nodeBirth = "NBIRTH"
        case nodeDeath = "NDEATH"
        case nodeData = "NDATA"
        case nodeCommand = "NCMD"
        case deviceBirth = "DBIRTH"
        case deviceDeath = "DDEATH"
        case deviceData = "DDATA"
        case deviceCommand = "DCMD"

        /// Whether the message concerns a device under the node (its topic names one).
        public var isDevice: Bool { rawValue.hasPrefix("D") }
    }

    public var group: String
    public var type: MessageType
    public var node: String
    /// The device under the edge node; nil for the node's own messages.
    public var device: String?

    public init(group: String, type: MessageType, node: String, device: String? = nil) {
        self.group = group
        self.type = type
        self.node = node
        self.device = device
    }

    /// Parses a topic under the Sparkplug B namespace; throws naming what is wrong with it.
    public init(parsing topic: String) throws(PayloadError) {
        let parts = topic.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, parts[0] == Self.namespace else {
            throw PayloadError(.unknownTopic, "Sparkplug topics are \(Self.namespace)/<group>/<type>/<edge node>[/<device>]")
        }
        guard let type = MessageType(rawValue: parts[2]) else {
            throw PayloadError(.unknownTopic, "unknown Sparkplug message type \(parts[2])")
        }
        guard parts.count == (type.isDevice ? 5 : 4), !parts.contains(where: \.isEmpty) else {
            throw PayloadError(.unknownTopic, type.isDevice ? "\(type.rawValue) topics name a group, an edge node and a device"
                                                            : "\(type.rawValue) topics name a group and an edge node")
        }
        self.init(group: parts[1], type: type, node: parts[3], device: type.isDevice ? parts[4] : nil)
    }

    public var description: String {
        [Self.namespace, group, type.rawValue, node].joined(separator: "/") + (device.map { "/" + $0 } ?? "")
    }

    public static let namespace = "spBv1.0"

    /// Where a host application says whether it is online (Sparkplug 3.0).
    public static func state(hostID: String) -> String { "\(namespace)/STATE/\(hostID)" }

    /// A host application's STATE payload: `{"online": true, "timestamp": <ms>}`.
    public static func statePayload(online: Bool, timestamp: UInt64) -> [UInt8] {
        Array("{\"online\":\(online),\"timestamp\":\(timestamp)}".utf8)
    }
}
