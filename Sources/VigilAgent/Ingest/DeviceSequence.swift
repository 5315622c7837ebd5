/// Per-device accounting of the sequence numbers devices put in their payloads, so that loss is
/// measured, never silent: how many messages were stored, how many were duplicates, how many
/// never arrived (gaps), and how often the device restarted its count.
public struct DeviceSequence: Sendable, Equatable {
    /// The lowest and highest seq stored since the device's last restart (-1: none yet).
    public var lowest: Int64 = -1
    public var highest: Int64 = -1
    /// Messages stored.
    public var messages: Int64 = 0
    /// Messages dropped because the same message was already stored.
    public var duplicates: Int64 = 0
    /// Sequence numbers skipped and not (yet) filled by a late arrival.
    public var missing: Int64 = 0
    /// Times the device started counting again.
    public var restarts: Int64 = 0

    /// How far below the highest seq a message may arrive and still count as late rather than
    /// as the first of a restarted device. Firmware replay buffers are shorter than this.
    public static let lateWindow: Int64 = 1_000

    public init() {}

    /// Records a message with `seq`; `stored` is false when it was a duplicate.
    public mutating func record(_ seq: Int64, stored: Bool) {
        guard stored else {
            duplicates += 1
            return
        }
        messages += 1
        if highest < 0 {
            lowest = seq
            highest = seq
        } else if seq > highest {
            missing += seq - highest - 1
            highest = seq
        } else if seq == lowest || highest - seq > Self.lateWindow {
            // A new message (not a duplicate: it was stored) with the lowest seq already seen,
            // typically 0, or one far below the highest: the device rebooted and counts afresh.
            restarts += 1
            lowest = seq
            highest = seq
        } else if seq < lowest {
            missing += lowest - seq - 1
            lowest = seq
        } else {
            // A late message filled a gap counted earlier.
            missing = max(0, missing - 1)
        }
    }
}
