import VigilInference

extension AnomalyScore {
    /// A window is known healthy, from maintenance events alone, this long before the device's
    /// next confirmed fault, or this soon after one (the repair that followed it, and the new
    /// baseline, come first).
    static let quietBeforeFault = 14 * 86_400.0
    static let freshAfterFault = 4 * 86_400.0

    /// Whether `example` is known healthy: labelled healthy, and far from its device's next
    /// fault (or with that much data after it and no fault), or soon after its last fault.
    static func knownHealthy(_ example: Dataset.Example, in dataset: Dataset) -> Bool {
        guard example.label == 0 else { return false }
        if soonAfterRepair(example, in: dataset) { return true }
        let faults = dataset.faults[example.device] ?? []
        let quietUntil = faults.next(atOrAfter: example.windowEnd)?.time ?? dataset.spans[example.device]?.end ?? example.windowEnd
        return quietUntil - example.windowEnd >= quietBeforeFault
    }

    /// Whether `example` is healthy and within `freshAfterFault` of its device's last fault: the
    /// surest healthy windows, as a machine may wear for longer than `quietBeforeFault` (a fan
    /// for up to 25 days) before its fault.
    static func soonAfterRepair(_ example: Dataset.Example, in dataset: Dataset) -> Bool {
        guard example.label == 0, let previous = dataset.faults[example.device]?.last(where: { $0.time < example.windowEnd }) else { return false }
        return example.windowEnd - previous.time <= freshAfterFault
    }

    /// The share of devices whose healthy runs set the alarm threshold (with ten devices or fewer,
    /// all of them): a few devices with a faulty sensor must not blind the score. Pooling every
    /// device's runs let a few fans of forty (sensor faults, early wear) raise it past most failures.
    static let devicesUnderThreshold = 0.9

    /// How far above what healthy runs reach the alarm sits: one group's mean square varies more
    /// than a whole window's (whose alarm sat at 1.5 times). Chosen on the tuning fleets: at 2.5,
    /// pumps' and motors' anomaly lead grew by 0.07 to 0.12 of the degradation with no sustained
    /// alarm on a healthy machine with sound sensors; at 2, a few pumps' noisier vibration groups
    /// crossed it by chance (0.010-0.011 a device-day).
    static let alarmMultiple = 2.5

    /// Fitted on the known-healthy windows of `train` (per input of `inputs`, median and
    /// 1.4826 x median absolute deviation), input `k` of `inputs` judged in group `k % groups`
    /// (with a context, an input and its trend). Each group's norm is the mean square that 99% of
    /// a device's runs of 3 windows soon after a repair (`soonAfterRepair`, in either split) stay
    /// under, in `devicesUnderThreshold` of the devices (without repairs, of its known-healthy
    /// `validation` windows), at least 1; its alarm takes 3 windows in a row at `alarmMultiple`
    /// times the level those runs reach in the same way. Nil without healthy windows.
    public static func fitted(train: [Dataset.Example], validation: [Dataset.Example], in dataset: Dataset, inputs: Range<Int>, groups: Int) -> AnomalyScore? {
        let healthy = train.filter { knownHealthy($0, in: dataset) }
        guard let width = healthy.first?.features.count, healthy.count >= 10, !inputs.isEmpty, inputs.upperBound <= width, groups > 0 else { return nil }
        var centers: [Double] = [], scales: [Double] = []
        for input in inputs {
            let values = healthy.map { $0.features[input] }.sorted()
            let median = values[values.count / 2]
            let deviations = values.map { abs($0 - median) }.sorted()
            centers.append(median)
            scales.append(max(1.4826 * deviations[deviations.count / 2], 1e-6 + 1e-3 * abs(median)))
        }
        var score = AnomalyScore(firstInput: inputs.lowerBound, centers: centers, scales: scales, groups: centers.indices.map { $0 % groups },
                                 norms: Array(repeating: 1, count: min(groups, centers.count)), alarm: .single)
        let fresh = (train + validation).filter { soonAfterRepair($0, in: dataset) }
        let checked = fresh.isEmpty ? validation.filter { knownHealthy($0, in: dataset) } : fresh
        // Each device's windows in time order, each window's mean square per group (norm 1), once.
        let squares = Dictionary(grouping: checked.isEmpty ? healthy : checked, by: \.device).values.map { windows in
            windows.sorted { $0.windowEnd < $1.windowEnd }.map { score.groupMeanSquares($0.features) }
        }
        score.norms = score.norms.indices.map { group in
            max(1, typicalRunLevel(squares.map { $0.map { $0[group] } }))
        }
        let threshold = alarmMultiple * typicalRunLevel(squares.map { device in
            device.map { window in zip(window, score.norms).map { $0 / $1 }.max() ?? 0 }
        })
        score.alarm = AlarmPolicy(threshold: min(threshold / (1 + threshold), 0.999), consecutive: 3)
        return score
    }

    /// Per device (its windows' levels in time order), the smallest level of each run of 3 windows
    /// and what 99% of them stay under; then that of the `devicesUnderThreshold` device (1 without
    /// any).
    static func typicalRunLevel(_ devices: [[Double]]) -> Double {
        var perDevice: [Double] = []
        for levels in devices where levels.count >= 3 {
            let runs = (0...(levels.count - 3)).map { levels[$0..<$0 + 3].min()! }.sorted()
            perDevice.append(runs[min(runs.count - 1, Int(0.99 * Double(runs.count)))])
        }
        perDevice.sort()
        return perDevice.isEmpty ? 1 : perDevice[min(perDevice.count - 1, Int(devicesUnderThreshold * Double(perDevice.count)))]
    }
}
