import VigilCore

/// The feature windows of one sensor of one device, as one `FeatureWindowSpec` of its profile
/// asks: samples in, feature rows out. All the state a (device, sensor, spec) needs.
public struct FeatureStream {
    /// One emitted window.
    public struct Row: Sendable, Equatable {
        /// Event time of the window's first sample (count) or its start bound (time), and of
        /// its last sample (count) or its end bound (time).
        public var start: Double
        public var end: Double
        public var sampleCount: Int
        /// The features, in the spec's order.
        public var values: [Double]
    }

    public let spec: FeatureWindowSpec
    /// One of the two, as the spec says.
    private var countWindow: CountWindow?
    private var timeWindow: TimeWindow?
    private let extractor: FeatureExtractor
    private var scratch: [Double] = []

    /// A stream for `spec`; `sampleRateHz` is the sensor's, for spectral features.
    public init(spec: FeatureWindowSpec, sampleRateHz: Double?) {
        self.spec = spec
        switch spec.window {
        case .count(let size, let hop): countWindow = CountWindow(size: size, hop: hop)
        case .time(let seconds, let hop): timeWindow = TimeWindow(seconds: seconds, hopSeconds: hop)
        }
        extractor = FeatureExtractor(names: spec.features, sampleRateHz: sampleRateHz)
    }

    /// Samples dropped as late (time windows only).
    public var lateSamples: Int { timeWindow?.late ?? 0 }

    /// Adds one sample; calls `emit` for each window it closes.
    public mutating func append(timestamp: Double, value: Double, emit: (Row) -> Void) {
        if countWindow != nil {
            guard countWindow!.append(timestamp: timestamp, value: value) else { return }
            let row = countWindow!.withWindow { values, timestamps in
                extractor.compute(values: values, timestamps: timestamps, into: &scratch)
                return Row(start: timestamps[0], end: timestamps[timestamps.count - 1], sampleCount: values.count, values: scratch)
            }
            emit(row)
        } else {
            timeWindow!.append(timestamp: timestamp, value: value) { bounds, values, timestamps in
                extractor.compute(values: values, timestamps: timestamps, into: &scratch)
                emit(Row(start: bounds.start, end: bounds.end, sampleCount: values.count, values: scratch))
            }
        }
    }

    /// Adds a block of samples, the first at `timestamp`, `1 / rateHz` apart.
    public mutating func append(block samples: [Double], timestamp: Double, rateHz: Double, emit: (Row) -> Void) {
        let step = 1 / rateHz
        for (index, sample) in samples.enumerated() {
            append(timestamp: timestamp + Double(index) * step, value: sample, emit: emit)
        }
    }
}
