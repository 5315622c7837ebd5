/// Labelled feature vectors of one device type, in time order per device, with the split
/// that keeps each device's past for training and its future for validation and hold-out.
public struct Dataset: Sendable {
    /// One labelled window.
    public struct Example: Sendable {
        public var device: String
        public var windowEnd: Double
        public var features: [Double]
        /// 0 healthy, 1 failing within the horizon (the binary label the rule gives).
        public var label: Int
        /// For a failing window, the mode of the fault it precedes (nil if the event gave none).
        public var mode: String? = nil
        /// For a healthy window, whether it precedes a fault within the rule's early horizon.
        public var soon = false
        /// The sensors whose latest window read one value throughout (stuck): the agent scores
        /// the window with their inputs at healthy, or abstains; the trainer does not learn from it.
        public var stuckSensors: [String] = []

        public init(device: String, windowEnd: Double, features: [Double], label: Int, mode: String? = nil, soon: Bool = false,
                    stuckSensors: [String] = []) {
            self.device = device
            self.windowEnd = windowEnd
            self.features = features
            self.label = label
            self.mode = mode
            self.soon = soon
            self.stuckSensors = stuckSensors
        }
    }

    /// A confirmed fault: when, and its mode if the event gave one.
    public struct Fault: Sendable {
        public var time: Double
        public var mode: String?

        public init(time: Double, mode: String? = nil) {
            self.time = time
            self.mode = mode
        }
    }

    /// The feature names, as `sensor.feature` in vector order.
    public var featureNames: [String]
    public var examples: [Example]
    /// Per device, its confirmed faults in time order and the span its windows cover: what
    /// alarm lead times, the mode named at an alarm and false alarms per device-day are measured
    /// against.
    public var faults: [String: [Fault]]
    public var spans: [String: (start: Double, end: Double)]

    public init(featureNames: [String], examples: [Example], faults: [String: [Fault]] = [:],
                spans: [String: (start: Double, end: Double)] = [:]) {
        self.featureNames = featureNames
        self.examples = examples
        self.faults = faults
        self.spans = spans
    }

    /// Per device, the first `train` share of its windows (by time) for training, the next
    /// `validation` share for early stopping, the rest held out: no future leaks into training.
    public func split(train: Double = 0.6, validation: Double = 0.2) -> (train: [Example], validation: [Example], holdout: [Example]) {
        var result: ([Example], [Example], [Example]) = ([], [], [])
        for (_, windows) in Dictionary(grouping: examples, by: \.device).sorted(by: { $0.key < $1.key }) {
            let ordered = windows.sorted { $0.windowEnd < $1.windowEnd }
            let trainEnd = Int((Double(ordered.count) * train).rounded())
            let validationEnd = Int((Double(ordered.count) * (train + validation)).rounded())
            result.0 += ordered[..<trainEnd]
            result.1 += ordered[trainEnd..<validationEnd]
            result.2 += ordered[validationEnd...]
        }
        return result
    }

    /// `examples` device by device, each device's in time order, each marked `afresh` where a
    /// life begins: the device's first window, or the first after a confirmed fault's repair,
    /// where per-device state starts again as on the agent.
    public func inLifeOrder(_ examples: [Example]) -> [(example: Example, afresh: Bool)] {
        var previous: Example?
        return examples.sorted { ($0.device, $0.windowEnd) < ($1.device, $1.windowEnd) }.map { example in
            defer { previous = example }
            guard let last = previous, last.device == example.device else { return (example, true) }
            return (example, faults[example.device]?.contains(after: last.windowEnd, upTo: example.windowEnd) == true)
        }
    }
}

extension [Dataset.Fault] {
    /// Whether one of these faults falls after `start` and at or before `end`: between two of a
    /// device's windows, a repair that makes the later one another life's.
    func contains(after start: Double, upTo end: Double) -> Bool {
        contains { start < $0.time && $0.time <= end }
    }

    /// The first of these faults at or after `time`: the one a window ending then precedes.
    func next(atOrAfter time: Double) -> Dataset.Fault? {
        first { $0.time >= time }
    }
}

extension Dataset {
    /// The windows, faults and spans of the devices `keep` accepts.
    public func subset(_ keep: (String) -> Bool) -> Dataset {
        Dataset(featureNames: featureNames, examples: examples.filter { keep($0.device) }, faults: faults.filter { keep($0.key) },
                spans: spans.filter { keep($0.key) })
    }

    /// The agents of a trainer store's devices (`agent/device`), sorted; empty for one agent's database.
    public var agents: [String] {
        Set(spans.keys.compactMap { key in key.firstIndex(of: "/").map { String(key[..<$0]) } }).sorted()
    }
}
