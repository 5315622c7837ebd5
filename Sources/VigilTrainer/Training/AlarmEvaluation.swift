/// How a model's alarms serve a maintenance team, from its predictions on every scored window of
/// each device in time order: false alarms per device-day, sustained alarms (`sustain` failing
/// windows in a row), and how long before each confirmed fault the last sustained alarm before it
/// began (the last, not the first: an early false alarm that cleared is no warning).
public struct AlarmEvaluation: Sendable {
    /// One window as the agent scored it.
    public struct Window: Sendable {
        public var device: String
        public var end: Double
        /// 1 when its label is failing, 0 healthy.
        public var label: Int
        public var alarm: Bool
        /// The fault mode the model finds most likely among its failing classes, if it has modes.
        public var mode: String?

        public init(device: String, end: Double, label: Int, alarm: Bool, mode: String? = nil) {
            self.device = device
            self.end = end
            self.label = label
            self.alarm = alarm
            self.mode = mode
        }
    }

    /// Device-days the scored windows span.
    public var deviceDays: Double
    /// Windows called failing whose label is healthy, per device-day.
    public var falseAlarmWindowsPerDeviceDay: Double
    /// Sustained alarms that began on a healthy-labelled window, per device-day.
    public var sustainedFalseAlarmsPerDeviceDay: Double
    /// With ground truth: sustained alarms that began while the machine was truly healthy (before
    /// its damage onset), per device-day of healthy machine; many "false" alarms under the label
    /// are early warnings in the degradation phase.
    public var sustainedAlarmsOnHealthyMachinesPerDeviceDay: Double?
    /// The same on the machines whose sensors the ground truth calls sound: an alarm on a healthy
    /// machine with a drifting or spiking sensor may be the sensor's fault, rightly flagged.
    public var sustainedAlarmsOnHealthySoundMachinesPerDeviceDay: Double?
    /// Confirmed faults with scored windows before them, and those a sustained alarm preceded.
    public var failures: Int
    public var caught: Int
    /// The same per fault mode the events give: how a mode the model never learned fares.
    public var byMode: [String: (failures: Int, caught: Int)] = [:]
    /// Hours from the start of the last sustained alarm to each fault it preceded.
    public var leadHours: [Double]
    /// With ground truth: each caught failure's lead as a share of its degradation (onset to failure).
    public var leadShareOfDegradation: [Double]
    /// Of the caught failures whose mode the event gives, how many the model named a mode for
    /// during the alarm before the failure, and how many of those it named right the first time
    /// (a diagnosis names none until it is sure: `FaultDiagnosis.margin`).
    public var modesKnown = 0
    public var modesNamed = 0
    public var modesRight = 0
    /// Hours from the start of the alarm to the mode's first naming, per named failure.
    public var modeHours: [Double] = []

    public var medianLeadHours: Double? { Self.median(leadHours) }
    /// Of the failures whose mode was named during the alarm, the share named right.
    public var modeRightAtAlarm: Double? { modesNamed == 0 ? nil : Double(modesRight) / Double(modesNamed) }
    /// Of the caught failures whose mode the event gives, the share named during the alarm (nil
    /// for a model that names no mode).
    public var modeNamedShare: Double? { modesNamed == 0 ? nil : Double(modesNamed) / Double(modesKnown) }
    public var medianModeHours: Double? { Self.median(modeHours) }
    public var medianLeadShare: Double? { Self.median(leadShareOfDegradation) }

    /// `onsets` gives, per device, (onset, failure) times of its lives when the ground truth is
    /// known (simulated fleets), `faultySensors` the devices whose sensors it made faulty; faults
    /// are matched to a life's failure within a minute.
    public init(windows: [Window], faults: [String: [Dataset.Fault]], spans: [String: (start: Double, end: Double)],
                sustain: Int = 3, onsets: [String: [(onset: Double, failure: Double)]] = [:], faultySensors: Set<String> = []) {
        deviceDays = spans.values.reduce(0) { $0 + max(0, $1.end - $1.start) } / 86_400
        let days = max(deviceDays, 1e-9)
        falseAlarmWindowsPerDeviceDay = Double(windows.filter { $0.alarm && $0.label == 0 }.count) / days
        var sustainedFalse = 0, failures = 0, caught = 0, onHealthy = 0, onHealthySound = 0
        var healthySeconds = 0.0, healthySoundSeconds = 0.0
        var leads: [Double] = [], shares: [Double] = []
        for (device, scored) in Dictionary(grouping: windows, by: \.device) {
            let ordered = scored.sorted { $0.end < $1.end }
            // Where each run of `sustain` alarms in a row is complete: (its first window's index, time).
            // A fault (and its repair) ends a run: the windows after it are another life's.
            var starts: [(index: Int, time: Double)] = []
            var run = 0
            let deviceFaults = faults[device] ?? []
            for (index, window) in ordered.enumerated() {
                if index > 0, deviceFaults.contains(after: ordered[index - 1].end, upTo: window.end) { run = 0 }
                run = window.alarm ? run + 1 : 0
                if run == sustain { starts.append((index - sustain + 1, ordered[index].end)) }
            }
            sustainedFalse += starts.filter { ordered[$0.index].label == 0 }.count
            if let lives = onsets[device], let span = spans[device] {
                // Healthy: from the span's start or a failure to the next onset.
                var healthy: [(from: Double, to: Double)] = []
                var from = span.start
                for life in lives.sorted(by: { $0.onset < $1.onset }) {
                    if life.onset > from { healthy.append((from, min(life.onset, span.end))) }
                    from = max(from, life.failure)
                }
                if from < span.end { healthy.append((from, span.end)) }
                healthy = healthy.filter { $0.to > $0.from }
                let seconds = healthy.reduce(0) { $0 + $1.to - $1.from }
                let alarms = starts.filter { start in healthy.contains { $0.from <= ordered[start.index].end && ordered[start.index].end < $0.to } }.count
                healthySeconds += seconds
                onHealthy += alarms
                if !faultySensors.contains(device) {
                    healthySoundSeconds += seconds
                    onHealthySound += alarms
                }
            }
            var previous = -Double.infinity
            for fault in deviceFaults {
                defer { previous = fault.time }
                guard ordered.contains(where: { $0.end > previous && $0.end <= fault.time }) else { continue }
                failures += 1
                byMode[fault.mode ?? "unknown", default: (0, 0)].failures += 1
                guard let last = starts.last(where: { $0.time > previous && $0.time <= fault.time }) else { continue }
                caught += 1
                byMode[fault.mode ?? "unknown", default: (0, 0)].caught += 1
                if let actual = fault.mode {
                    modesKnown += 1
                    let during = ordered[last.index...].prefix(while: { $0.end <= fault.time })
                    if let first = during.first(where: { $0.mode != nil }) {
                        modesNamed += 1
                        if first.mode == actual { modesRight += 1 }
                        modeHours.append((first.end - ordered[last.index].end) / 3600)
                    }
                }
                let lead = fault.time - ordered[last.index].end
                leads.append(lead / 3600)
                if let life = onsets[device]?.first(where: { abs($0.failure - fault.time) < 60 }), life.failure > life.onset {
                    shares.append(lead / (life.failure - life.onset))
                }
            }
        }
        sustainedFalseAlarmsPerDeviceDay = Double(sustainedFalse) / days
        sustainedAlarmsOnHealthyMachinesPerDeviceDay = onsets.isEmpty ? nil : Double(onHealthy) / max(healthySeconds / 86_400, 1e-9)
        sustainedAlarmsOnHealthySoundMachinesPerDeviceDay = onsets.isEmpty ? nil : Double(onHealthySound) / max(healthySoundSeconds / 86_400, 1e-9)
        self.failures = failures
        self.caught = caught
        leadHours = leads.sorted()
        leadShareOfDegradation = shares.sorted()
        modeHours.sort()
    }

    static func median(_ sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
