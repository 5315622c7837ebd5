import VigilCore

/// The trainer's answer to a batch, on `<upstream>/<agent>/ack`: the highest sequence it holds
/// without a gap, and, when it refused a batch, which one and why. `formats` lists the batch
/// formats the trainer reads, so an agent newer than its trainer learns why it is refused
/// instead of resending forever.
///
///     {"format": 1, "agent": "edge-1", "epoch": "9f3a...", "acked": 41, "formats": [2],
///      "refused": {"seq": 42, "reason": "..."}}
///
/// `acked` counts in the batches' `epoch`: an agent ignores acks of another epoch.
public struct UpstreamAck: Sendable, Equatable {
    public static let formatVersion = 1

    public var agent: String
    public var epoch: String
    /// Highest sequence held without a gap; -1 for none.
    public var acked: Int64
    public var formats: [Int]
    public var refused: (sequence: Int64, reason: String)?

    public init(agent: String, epoch: String, acked: Int64, formats: [Int] = [UpstreamBatch.formatVersion],
                refused: (sequence: Int64, reason: String)? = nil) {
        self.agent = agent
        self.epoch = epoch
        self.acked = acked
        self.formats = formats
        self.refused = refused
    }

    public static func == (lhs: UpstreamAck, rhs: UpstreamAck) -> Bool {
        lhs.agent == rhs.agent && lhs.epoch == rhs.epoch && lhs.acked == rhs.acked && lhs.formats == rhs.formats
            && lhs.refused?.sequence == rhs.refused?.sequence && lhs.refused?.reason == rhs.refused?.reason
    }

    public func encoded() -> [UInt8] {
        var fields: [(key: String, value: JSONValue)] = [
            ("format", .number(Double(Self.formatVersion))), ("agent", .string(agent)), ("epoch", .string(epoch)),
            ("acked", .number(Double(acked))),
            ("formats", .array(formats.map { .number(Double($0)) })),
        ]
        if let refused {
            fields.append(("refused", ["seq": .number(Double(refused.sequence)), "reason": .string(refused.reason)]))
        }
        return Array(JSONValue.object(fields).serialized(indent: 0).utf8)
    }

    public init(bytes: [UInt8]) throws(FleetError) {
        do {
            let reader = try FleetMessage.open(bytes, kind: "ack", format: Self.formatVersion, readBy: "this agent")
            agent = try reader.string("agent")
            epoch = try reader.string("epoch")
            acked = Int64(try reader.integer("acked"))
            formats = try reader.numbers("formats").map { Int($0) }
            if reader.value("refused") != nil {
                let entry = try reader.object("refused")
                let sequence = try entry.integer("seq")
                let reason = try entry.string("reason")
                refused = (Int64(sequence), reason)
            } else {
                refused = nil
            }
        } catch let error as FleetError {
            throw error
        } catch {
            throw FleetError("malformed", "\(error)")
        }
    }
}
