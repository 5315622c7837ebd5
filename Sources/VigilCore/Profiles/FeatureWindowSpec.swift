/// Which features the agent computes for one sensor of a device type, over which windows, as
/// defined for the feature engine (count windows of `size` samples every `hop`, or event-time
/// windows of `seconds` every `hop_seconds`, aligned to the epoch).
public struct FeatureWindowSpec: Sendable, Equatable {
    /// A window over a sensor's samples.
    public enum Window: Sendable, Equatable {
        case count(size: Int, hop: Int)
        case time(seconds: Double, hopSeconds: Double)
    }

    /// Statistics every window can give.
    public static let statistics: Set<String> = [
        "count", "mean", "std", "min", "max", "peak_to_peak", "rms", "peak", "crest_factor", "skewness", "kurtosis",
        "slope", "zero_crossing_rate",
    ]
    /// Spectral features, for sampled (block) sensors: also `band_LO_HI` in Hz.
    public static let spectral: Set<String> = ["dominant_frequency", "spectral_centroid"]
    /// Bearing defect features, for block sensors of a profile whose machine gives the shaft
    /// speed and bearing geometry: how far the squared-envelope spectrum stands out, in dB, at
    /// the outer-race, inner-race and ball defect frequencies (`MachineModel.defectHz`): over
    /// the whole spectrum (`envelope_*`), or in the 1 kHz band where the line stands out most
    /// (`envelope_band_*`, `bandEnvelope`).
    public static let envelope: Set<String> = ["envelope_bpfo", "envelope_bpfi", "envelope_bsf",
                                               "envelope_band_bpfo", "envelope_band_bpfi", "envelope_band_bsf"]

    /// Whether an envelope feature looks band by band.
    public static func bandEnvelope(_ feature: String) -> Bool { feature.hasPrefix("envelope_band_") }

    /// The frequency an envelope feature looks at.
    static func frequency(of feature: String, _ defects: MachineModel.DefectFrequencies) -> Double? {
        switch feature {
        case "envelope_bpfo", "envelope_band_bpfo": defects.bpfo
        case "envelope_bpfi", "envelope_band_bpfi": defects.bpfi
        case "envelope_bsf", "envelope_band_bsf": defects.ball
        default: nil
        }
    }

    /// The sensor's index in the profile.
    public var sensor: Int
    public var window: Window
    /// Feature names, in the order a model's input expects them.
    public var features: [String]
    /// For envelope features, the frequency each looks at, Hz (from the profile's machine).
    public var defectHz: [String: Double]

    public init(sensor: Int, window: Window, features: [String], defectHz: [String: Double] = [:]) {
        self.sensor = sensor
        self.window = window
        self.features = features
        self.defectHz = defectHz
    }

    init(_ reader: JSONObjectReader, sensors: [SensorProfile], machine: MachineModel?) throws(ConfigurationError) {
        let name = try reader.string("sensor")
        guard let index = sensors.firstIndex(where: { $0.name == name }) else {
            throw reader.error("sensor", "no sensor \"\(name)\" in this profile")
        }
        sensor = index
        let window = try reader.object("window")
        if window.value("size") != nil || window.value("hop") != nil {
            let size = try window.integer("size")
            let hop = try window.integer("hop")
            guard size >= 2, hop >= 1 else { throw window.error(nil, "needs size >= 2 and hop >= 1") }
            self.window = .count(size: size, hop: hop)
        } else {
            let seconds = try window.double("seconds")
            let hop = try window.double("hop_seconds")
            guard seconds > 0, hop > 0 else { throw window.error(nil, "needs positive seconds and hop_seconds") }
            self.window = .time(seconds: seconds, hopSeconds: hop)
        }
        try window.rejectUnknownFields()
        features = try reader.strings("features")
        try reader.rejectUnknownFields()
        guard !features.isEmpty else { throw reader.error("features", "names no feature") }
        let block = sensors[index].kind == .block
        var defectHz: [String: Double] = [:]
        for (position, feature) in features.enumerated() {
            if Self.statistics.contains(feature) { continue }
            if Self.envelope.contains(feature) {
                guard let machine else {
                    throw reader.error("features[\(position)]", "\"\(feature)\" needs the profile's machine (shaft_hz and bearing)")
                }
                defectHz[feature] = Self.frequency(of: feature, machine.defectHz)
            } else if !Self.spectral.contains(feature) && Self.band(feature) == nil {
                throw reader.error("features[\(position)]", "unknown feature \"\(feature)\" (known: \(Self.statistics.union(Self.spectral).union(Self.envelope).sorted().joined(separator: ", ")), band_LO_HI)")
            }
            guard block else {
                throw reader.error("features[\(position)]", "\"\(feature)\" is spectral: it needs a block sensor")
            }
            guard case .count(let size, _) = self.window, size >= 4, size & (size - 1) == 0 else {
                throw reader.error("features[\(position)]", "\"\(feature)\" is spectral: it needs a count window whose size is a power of two")
            }
        }
        self.defectHz = defectHz
    }

    /// The band of a `band_LO_HI` feature, in Hz.
    public static func band(_ name: String) -> ClosedRange<Double>? {
        let parts = name.split(separator: "_")
        guard parts.count == 3, parts[0] == "band", let low = Double(parts[1]), let high = Double(parts[2]), low < high else {
            return nil
        }
        return low...high
    }
}
