import VigilCore

/// The feature windows of one sensor of one device, as one `FeatureWindowSpec` of its profile
/// asks: samples in, feature rows out. All the state a (device, sensor, spec) needs.
public final class FeatureStream {
    /// One emitted window.
    public struct Row: Sendable, Equatable {
        /// Event time of the window's first sample (count) or its start bound (time), and of
        /// its last sample (count) or its end bound (time).
        public var start: Double
        public var end: Double
        public var sampleCount: Int
        /// The features, in the spec's order.
        public var values: [Double]
        /// Whether every one of at least `DeviceProfile.minimumSamplesPerWindow` samples had the
        /// same value: a live sensor's readings never do, a stuck one's always do.
        public var constant: Bool

        init(start: Double, end: Double, statistics: WindowStatistics, values: [Double]) {
            self.start = start
            self.end = end
            sampleCount = statistics.count
            self.values = values
            constant = statistics.count >= DeviceProfile.minimumSamplesPerWindow && statistics.min == statistics.max
        }

        /// Whether a stored window read one value throughout (`constant`), told from its
        /// features `names` alone: a spread of 0 (`std`, `peak_to_peak`), or a `max` equal to its
        /// `min` or `mean`, over at least `DeviceProfile.minimumSamplesPerWindow` samples. Nil when
        /// its features cannot tell.
        public static func constant(names: [String], values: [Double], sampleCount: Int) -> Bool? {
            func value(_ name: String) -> Double? { names.firstIndex(of: name).map { values[$0] } }
            let oneValue: Bool
            if let std = value("std") {
                oneValue = std == 0
            } else if let range = value("peak_to_peak") {
                oneValue = range == 0
            } else if let max = value("max"), let min = value("min") {
                oneValue = max == min
            } else if let max = value("max"), let mean = value("mean") {
                // A mean from running sums may differ from the one value by rounding; a live
                // window's max lies above its mean by a share of its spread.
                oneValue = abs(max - mean) <= 1e-9 * Swift.max(abs(max), 1)
            } else {
                return nil
            }
            return oneValue && sampleCount >= DeviceProfile.minimumSamplesPerWindow
        }
    }

    public let spec: FeatureWindowSpec
    /// One of the two, as the spec says.
    private var countWindow: CountWindow?
    private var sliding: SlidingStatistics?
    private var timeWindow: TimeWindow?
    private let extractor: FeatureExtractor
    private var scratch: [Double] = []
    private let shared: FeatureScratch

    /// A stream for `spec`; `sampleRateHz` is the sensor's, for spectral features. Streams used
    /// from one thread can share `scratch`.
    public init(spec: FeatureWindowSpec, sampleRateHz: Double?, scratch: FeatureScratch = FeatureScratch()) {
        self.spec = spec
        shared = scratch
        switch spec.window {
        case .count(let size, let hop):
            countWindow = CountWindow(size: size, hop: hop)
            sliding = SlidingStatistics(size: size, hop: hop, timed: spec.features.contains("slope"))
        case .time(let seconds, let hop):
            timeWindow = TimeWindow(seconds: seconds, hopSeconds: hop, needsSamples: spec.features.contains("zero_crossing_rate"))
        }
        extractor = FeatureExtractor(names: spec.features, sampleRateHz: sampleRateHz, defectHz: spec.defectHz, scratch: scratch)
    }

    /// Samples dropped as late (time windows only).
    public var lateSamples: Int { timeWindow?.late ?? 0 }

    /// Samples the stream's count window holds room for now: none between the windows of one
    /// that does not overlap (a block sensor's captures), so memory follows the captures in hand.
    public var samplesHeld: Int {
        guard let countWindow, countWindow.held else { return 0 }
        return countWindow.capacity
    }

    deinit {
        countWindow?.deallocate()
        sliding?.deallocate()
    }

    /// Adds one sample; calls `emit` for each window it closes.
    public func append(timestamp: Double, value: Double, emit: (Row) -> Void) {
        withUnsafePointer(to: timestamp) { time in
            withUnsafePointer(to: value) { value in
                append(values: UnsafeBufferPointer(start: value, count: 1), timestamps: .explicit(time), emit: emit)
            }
        }
    }

    /// Adds a block of samples, the first at `timestamp`, `1 / rateHz` apart.
    public func append(block samples: UnsafeBufferPointer<Double>, timestamp: Double, rateHz: Double, emit: (Row) -> Void) {
        append(values: samples, timestamps: .regular(start: timestamp, step: 1 / rateHz), emit: emit)
    }

    /// Sample times: given one by one, or evenly spaced.
    private enum Times {
        case explicit(UnsafePointer<Double>)
        case regular(start: Double, step: Double)

        @inline(__always)
        func time(_ index: Int) -> Double {
            switch self {
            case .explicit(let times): times[index]
            case .regular(let start, let step): start + Double(index) * step
            }
        }
    }

    private func append(values: UnsafeBufferPointer<Double>, timestamps times: Times, emit: (Row) -> Void) {
        guard var window = countWindow, var sums = sliding else {
            for index in values.indices {
                timeWindow!.append(timestamp: times.time(index), value: values[index]) { bounds, summary, values, timestamps in
                    let statistics = summary ?? WindowStatistics(values: values, timestamps: timestamps)
                    extractor.compute(statistics: statistics, values: values, into: &scratch)
                    emit(Row(start: bounds.start, end: bounds.end, statistics: statistics, values: scratch))
                }
            }
            return
        }
        // The per-sample loop works on local copies of the window and the sums.
        if !sums.slides, case .regular(let start, let step) = times {
            // Sums computed when a window is due need no sample by sample: blocks go in as runs.
            var offset = 0
            while offset < values.count {
                if window.startsWindow && values.count - offset >= window.size {
                    // A whole capture: its features are read where it lies, with no copy kept.
                    var times = shared.take(\.timestamps, count: window.size)
                    for index in times.indices { times[index] = start + Double(offset + index) * step }
                    times.withUnsafeBufferPointer { times in
                        emitWindow(UnsafeBufferPointer(rebasing: values[offset..<offset + window.size]), times, &sums, emit)
                    }
                    shared.timestamps = times
                    window.passed()
                    offset += window.size
                    continue
                }
                let (taken, due) = window.append(run: values, from: offset, start: start, step: step)
                offset += taken
                if due {
                    let (values, timestamps) = window.window
                    emitWindow(values, timestamps, &sums, emit)
                }
            }
        } else {
            for index in values.indices {
                let timestamp = times.time(index)
                let value = values[index]
                if sums.slides { sums.add(index: window.seen, timestamp: timestamp, value: value, leaving: window.leaving) }
                if window.append(timestamp: timestamp, value: value) {
                    let (values, timestamps) = window.window
                    emitWindow(values, timestamps, &sums, emit)
                }
            }
        }
        // A capture that ended its window leaves nothing the next one needs.
        window.release()
        countWindow = window
        sliding = sums
    }

    /// Computes and emits the features of the window of `values` sampled at `timestamps`.
    private func emitWindow(_ values: UnsafeBufferPointer<Double>, _ timestamps: UnsafeBufferPointer<Double>,
                            _ sums: inout SlidingStatistics, _ emit: (Row) -> Void) {
        if sums.needsRebase { sums.rebase(values: values, timestamps: timestamps) }
        let statistics = sums.statistics(values: values, zeroCrossings: extractor.needsZeroCrossings)
        extractor.compute(statistics: statistics, values: values, into: &scratch)
        emit(Row(start: timestamps[0], end: timestamps[timestamps.count - 1], statistics: statistics, values: scratch))
    }
}
