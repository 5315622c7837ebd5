/// The physics of a device type, for the simulator: running speed, bearing geometry, the
/// structural resonance that bearing impacts ring, and the operating point of its process
/// sensors. Real devices need none of it; a profile without it is simply not simulated.
public struct MachineModel: Sendable, Equatable {
    /// Rolling-element bearing geometry, from which the defect frequencies follow.
    public struct Bearing: Sendable, Equatable {
        public var balls: Int
        public var ballDiameter: Double
        public var pitchDiameter: Double
        public var contactAngleDegrees: Double

        public init(balls: Int, ballDiameter: Double, pitchDiameter: Double, contactAngleDegrees: Double = 0) {
            self.balls = balls
            self.ballDiameter = ballDiameter
            self.pitchDiameter = pitchDiameter
            self.contactAngleDegrees = contactAngleDegrees
        }

        /// Defect frequencies as multiples of the shaft frequency (orders): BPFO, BPFI, BSF,
        /// FTF (Randall and Antoni 2011).
        public var orders: (bpfo: Double, bpfi: Double, bsf: Double, ftf: Double) {
            let ratio = ballDiameter / pitchDiameter * cos(contactAngleDegrees * .pi / 180)
            let half = Double(balls) / 2
            return (half * (1 - ratio), half * (1 + ratio),
                    pitchDiameter / (2 * ballDiameter) * (1 - ratio * ratio), 0.5 * (1 - ratio))
        }
    }

    /// Where a bearing defect shows, Hz: impacts on the outer race at BPFO, on the inner race at
    /// BPFI, and a ball defect strikes both races once per ball revolution, at twice BSF.
    public struct DefectFrequencies: Sendable, Equatable {
        public var bpfo: Double
        public var bpfi: Double
        public var ball: Double
    }

    /// The bearing's defect frequencies at the shaft's speed.
    public var defectHz: DefectFrequencies {
        let orders = bearing.orders
        return DefectFrequencies(bpfo: orders.bpfo * shaftHz, bpfi: orders.bpfi * shaftHz, ball: 2 * orders.bsf * shaftHz)
    }

    /// Shaft running speed in Hz (rpm / 60).
    public var shaftHz: Double
    public var bearing: Bearing
    /// The structural resonance bearing impacts excite, Hz, and its decay rate, 1/s.
    public var resonanceHz: Double
    public var dampingPerSecond: Double
    /// Broadband vibration noise, g RMS.
    public var noise: Double
    /// Healthy operating values of the process sensors, by signal; temperature and current
    /// rise late in a failing life, by `lateRise` times their healthy value at failure.
    public var operatingPoint: [SignalModel: Double]
    public var lateRise: Double

    init(_ reader: JSONObjectReader) throws(ConfigurationError) {
        shaftHz = try reader.double("shaft_hz")
        let bearing = try reader.object("bearing")
        let balls = try bearing.integer("balls")
        let ballDiameter = try bearing.double("ball_diameter")
        let pitchDiameter = try bearing.double("pitch_diameter")
        let contactAngle = try bearing.optionalDouble("contact_angle_deg") ?? 0
        self.bearing = Bearing(balls: balls, ballDiameter: ballDiameter, pitchDiameter: pitchDiameter, contactAngleDegrees: contactAngle)
        try bearing.rejectUnknownFields()
        resonanceHz = try reader.double("resonance_hz")
        dampingPerSecond = try reader.double("damping_per_s")
        noise = try reader.optionalDouble("noise_g") ?? 0.05
        lateRise = try reader.optionalDouble("late_rise") ?? 0.3
        let point = try reader.object("operating_point")
        var operatingPoint: [SignalModel: Double] = [:]
        for signal in SignalModel.allCases where signal != .vibration {
            if let value = try point.optionalDouble(signal.rawValue) { operatingPoint[signal] = value }
        }
        self.operatingPoint = operatingPoint
        try point.rejectUnknownFields()
        try reader.rejectUnknownFields()

        guard shaftHz > 0 else { throw reader.error("shaft_hz", "must be positive, got \(shaftHz)") }
        guard self.bearing.balls >= 3, self.bearing.ballDiameter > 0, self.bearing.pitchDiameter > self.bearing.ballDiameter else {
            throw reader.error("bearing", "needs at least 3 balls and 0 < ball_diameter < pitch_diameter")
        }
        guard resonanceHz > 0, dampingPerSecond > 0 else {
            throw reader.error(resonanceHz > 0 ? "damping_per_s" : "resonance_hz", "must be positive")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
