#if canImport(Glibc)
import Glibc
#endif
import VigilCore

/// What `vigil-agent watch` shows, refreshed every interval: messages and samples per second
/// per device type, refusals by reason, sequence gaps, labels and the database's size, computed
/// from two consecutive status reads of the database.
public struct LiveView {
    /// Renders the change from `previous` to `current` over `seconds`.
    public static func render(previous: AgentStatus, current: AgentStatus, seconds: Double, elapsed: Double) -> String {
        func rate(_ now: Int64, _ before: Int64) -> String {
            let value = Double(now - before) / max(seconds, 1e-9)
            return value >= 100 ? String(Int(value.rounded())) : String((value * 10).rounded() / 10)
        }
        var lines: [String] = []
        lines.append("vigil-agent live: \(current.database)   \(Int(elapsed)) s   database \(ByteSize(bytes: current.databaseBytes))")
        let samples = current.counters["samples_stored", default: 0]
        lines.append("stored    \(rate(current.counters["messages_stored", default: 0], previous.counters["messages_stored", default: 0])) msgs/s, "
                     + "\(rate(samples, previous.counters["samples_stored", default: 0])) samples/s   "
                     + "(total \(current.counters["messages_stored", default: 0]) messages, \(samples) samples)")
        lines.append("")
        let header = ["device type", "devices", "msgs/s", "messages", "duplicates", "missing", "restarts"]
        var rows: [[String]] = []
        let before = Dictionary(grouping: previous.devices, by: \.type)
        for (type, devices) in Dictionary(grouping: current.devices, by: \.type).sorted(by: { $0.key < $1.key }) {
            let messages = devices.reduce(0) { $0 + $1.messages }
            let earlier = before[type]?.reduce(0) { $0 + $1.messages } ?? 0
            rows.append([type, "\(devices.count)", rate(messages, earlier), "\(messages)",
                         "\(devices.reduce(0) { $0 + $1.duplicates })", "\(devices.reduce(0) { $0 + $1.missing })",
                         "\(devices.reduce(0) { $0 + $1.restarts })"])
        }
        lines += table(header, rows)
        lines.append("")
        lines.append("refused   \(current.refusals)")
        lines.append("features  \(rate(current.counters["feature_rows", default: 0], previous.counters["feature_rows", default: 0])) windows/s "
                     + "(total \(current.counters["feature_rows", default: 0]), \(current.counters["late_samples", default: 0]) late samples dropped)")
        // Devices per predicted state, whichever model said it ("model: state" per model).
        let verdicts = current.devices.compactMap(\.health).map { health in
            health.split(separator: ",").contains { $0.hasSuffix(": healthy") == false } ? "at risk" : "healthy"
        }
        let states = Dictionary(grouping: verdicts, by: { $0 }).sorted { $0.key < $1.key }.map { "\($0.value.count) \($0.key)" }
        lines.append("health    \(current.counters["predictions", default: 0]) predictions\(states.isEmpty ? " (none yet)" : ": " + states.joined(separator: ", "))")
        lines.append("labels    \(current.counters["maintenance_events", default: 0]) maintenance events")
        lines.append("dropped   \(current.counters["rows_dropped_for_size", default: 0]) oldest rows for the size bound")
        if let line = current.upstreamLine {
            let sent = (current.upstream?.lastAckedSeq ?? 0) - (previous.upstream?.lastAckedSeq ?? 0)
            lines.append(line + ", \(rate(sent, 0)) batches/s")
        }
        lines += current.modelLines
        if let latest = current.recentDeadLetters.first {
            lines.append("latest    \(latest.topic)  \(latest.reason): \(latest.detail)")
        }
        return lines.joined(separator: "\n")
    }

    /// Columns padded to their widest cell; the first `leftAligned` are text, the rest numbers.
    static func table(_ header: [String], _ rows: [[String]], leftAligned: Int = 1) -> [String] {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column < leftAligned ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
    }

    /// Refreshes the view every `interval` seconds until `duration` passes (or forever), or
    /// SIGINT/SIGTERM; returns the last status read.
    public static func watch(database: String, interval: Double, duration: Double?) throws -> AgentStatus {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let terminal = isatty(1) != 0
        let started = MonotonicClock.now()
        var previous = try AgentStatus.read(database: database)
        var previousTime = started
        while true {
            // Wait for the interval, or a stop signal.
            var timeout = timespec(tv_sec: Int(interval), tv_nsec: Int((interval - interval.rounded(.down)) * 1e9))
            let stopped = sigtimedwait(&signals, nil, &timeout) > 0
            let now = MonotonicClock.now()
            let current = try AgentStatus.read(database: database)
            let view = render(previous: previous, current: current, seconds: now - previousTime, elapsed: now - started)
            var screen = (terminal ? "\u{1B}[H\u{1B}[2J" + view : view + "\n") + "\n"
            screen.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
            previous = current
            previousTime = now
            if stopped || duration.map({ now - started >= $0 }) == true { return current }
        }
    }
}
