/// What is wrong with a device's data rather than its machine, judged from its messages as they
/// arrive: messages lost on the way (sequence gaps above 1% of those expected, judged every 500
/// messages), a clock running ahead of the agent's, and spikes (`SpikeFilter`, over 0.5% of
/// readings; its feature windows leave them out). The models go on scoring and the device's
/// health says what is wrong; a stuck or drifting sensor, which would mislead a model, is judged
/// per window by the models instead (`ModelScoring`: scored with its inputs at healthy).
struct DataQuality {
    enum Fault: String, CaseIterable, Comparable {
        case dropouts
        case clockSkew = "clock_skew"
        case spikes

        static func < (lhs: Fault, rhs: Fault) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The faults the device shows now.
    private(set) var faults: Set<Fault> = []
    /// Messages stored and missing at the start of the current dropout period.
    private var periodStart: (messages: Int64, missing: Int64)?
    /// Messages in a row ahead of the agent's clock by more than the tolerance, or not.
    private var ahead = 0
    private var onTime = 0

    /// Messages per dropout judgement: at a 2% loss, 10 expected gaps, so a judgement rarely errs.
    static let period: Int64 = 500
    /// Dropouts start above this share of messages missing in a period and end at or below
    /// `recoveredShare`: the gap between them keeps the verdict from flapping.
    static let dropoutShare = 0.01
    static let recoveredShare = 0.0025
    /// Messages in a row that must agree before the clock verdict changes.
    static let clockMessages = 10

    /// Readings judged for spikes since the period began, and the spikes among them.
    private var readings = 0
    private var spikeCount = 0
    /// Readings per spike judgement; spikes start above this share and end at or below a fifth of it.
    static let spikeReadings = 1_000
    static let spikeShare = 0.005

    init() {}

    /// The faults as stored in the `devices` table: sorted names, comma-separated.
    init(stored text: String) {
        faults = Set(text.split(separator: ",").compactMap { Fault(rawValue: String($0)) })
    }

    var stored: String { names.joined(separator: ",") }
    var names: [String] { faults.sorted().map(\.rawValue) }

    /// Records a value sensor's reading and how many readings before it its `SpikeFilter` found
    /// spikes; returns whether the faults changed.
    mutating func observe(spikes: Int) -> Bool {
        readings += 1
        spikeCount += spikes
        guard readings >= Self.spikeReadings else { return false }
        let share = Double(spikeCount) / Double(readings)
        let before = faults
        if share > Self.spikeShare {
            faults.insert(.spikes)
        } else if share <= Self.spikeShare / 5 {
            faults.remove(.spikes)
        }
        readings = 0
        spikeCount = 0
        return faults != before
    }

    /// Records a message stored for the device, with its sequence accounting after it and how
    /// many seconds its timestamp runs ahead of the agent's clock; `tolerance` nil judges no
    /// clock. Returns whether the faults changed.
    mutating func observe(_ sequence: DeviceSequence, aheadBy seconds: Double, tolerance: Double?) -> Bool {
        let before = faults
        if let start = periodStart, sequence.messages >= start.messages {
            let received = sequence.messages - start.messages
            if received >= Self.period {
                let missing = Double(sequence.missing - start.missing)
                let share = missing / (Double(received) + max(0, missing))
                if share > Self.dropoutShare {
                    faults.insert(.dropouts)
                } else if share <= Self.recoveredShare {
                    faults.remove(.dropouts)
                }
                periodStart = (sequence.messages, sequence.missing)
            }
        } else {
            periodStart = (sequence.messages, sequence.missing)
        }
        if let tolerance {
            if seconds > tolerance {
                ahead += 1
                onTime = 0
                if ahead >= Self.clockMessages { faults.insert(.clockSkew) }
            } else {
                onTime += 1
                ahead = 0
                if onTime >= Self.clockMessages { faults.remove(.clockSkew) }
            }
        }
        return faults != before
    }
}
