/// A topic pattern from a device profile, such as `plant/{device}/{sensor}`: literal segments,
/// exactly one `{device}` and at most one `{sensor}`. It gives both the MQTT subscription
/// (`plant/+/+`) and the match that tells which device and sensor a topic belongs to.
public struct TopicPattern: Sendable, Equatable, CustomStringConvertible {
    /// One `/`-separated segment of a pattern.
    public enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case device
        case sensor
    }

    /// A pattern that is not of that form.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The pattern as written.
    public let text: String
    /// Its segments.
    public let segments: [Segment]

    public init(_ text: String) throws(Invalid) {
        var segments: [Segment] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: false) {
            switch part {
            case "{device}":
                guard !segments.contains(.device) else { throw Invalid(description: "\"\(text)\" has {device} twice") }
                segments.append(.device)
            case "{sensor}":
                guard !segments.contains(.sensor) else { throw Invalid(description: "\"\(text)\" has {sensor} twice") }
                segments.append(.sensor)
            default:
                guard Self.isPlainSegment(String(part)) else {
                    throw Invalid(description: "\"\(text)\": segment \"\(part)\" must be {device}, {sensor} or a non-empty name without '+', '#', '{' or '}'")
                }
                segments.append(.literal(Array(part.utf8)))
            }
        }
        guard segments.contains(.device) else { throw Invalid(description: "\"\(text)\" needs a {device} segment") }
        self.text = text
        self.segments = segments
    }

    /// Whether the pattern names the sensor in the topic (else the payload carries the sensors).
    public var hasSensor: Bool { segments.contains(.sensor) }

    /// The MQTT subscription filter: placeholders become `+`.
    public var subscription: String {
        segments.map { segment in
            switch segment {
            case .literal(let bytes): String(decoding: bytes, as: UTF8.self)
            case .device, .sensor: "+"
            }
        }.joined(separator: "/")
    }

    /// Matches `topic`; returns the byte ranges of the device and (if any) sensor segments.
    public func match(_ topic: UnsafeRawBufferPointer) -> (device: Range<Int>, sensor: Range<Int>?)? {
        var device: Range<Int>?
        var sensor: Range<Int>?
        var start = 0
        var segmentIndex = 0
        let count = topic.count
        while start <= count {
            var end = start
            while end < count && topic[end] != UInt8(ascii: "/") { end += 1 }
            guard segmentIndex < segments.count else { return nil }
            switch segments[segmentIndex] {
            case .literal(let bytes):
                guard end - start == bytes.count,
                      bytes.withUnsafeBytes({ $0.elementsEqual(UnsafeRawBufferPointer(rebasing: topic[start..<end])) })
                else { return nil }
            case .device:
                guard end > start else { return nil }
                device = start..<end
            case .sensor:
                guard end > start else { return nil }
                sensor = start..<end
            }
            segmentIndex += 1
            start = end + 1
        }
        guard segmentIndex == segments.count, let device else { return nil }
        return (device, sensor)
    }

    /// Whether some topic would match both patterns.
    public func overlaps(_ other: TopicPattern) -> Bool {
        guard segments.count == other.segments.count else { return false }
        return zip(segments, other.segments).allSatisfy { mine, theirs in
            if case .literal(let a) = mine, case .literal(let b) = theirs { return a == b }
            return true
        }
    }

    public var description: String { text }

    /// A name usable as a topic segment, device type or sensor: non-empty, no MQTT wildcards,
    /// no separators, no placeholders.
    public static func isPlainSegment(_ name: String) -> Bool {
        !name.isEmpty && !name.contains { "/+#{}".contains($0) || $0.isNewline }
    }
}
