/// What physical quantity a sensor measures, so the simulator knows what to generate for it.
public enum SignalModel: String, Sendable, CaseIterable, Hashable {
    /// Acceleration from shaft harmonics, bearing impacts ringing a resonance, and noise, g.
    case vibration
    /// Overall vibration velocity, mm/s RMS: grows with damage.
    case vibrationRMS = "vibration_rms"
    /// High-frequency acceleration, g RMS: the band bearing impacts ring in, which a vibration
    /// transmitter reports beside velocity. Grows with bearing damage, little with shaft faults.
    case vibrationHF = "vibration_hf"
    case temperature
    case current
    case pressure
    case flow
    case speed
}
