import VigilCore

extension SignalModel {
    /// A value sensor's reading of a machine at damage `health` of fault `mode`: its operating
    /// point `base`, moved by the damage as that quantity moves, plus measurement noise. Before
    /// any sensor fault.
    public func reading(base: Double, health: Double, mode: FaultMode, machine: MachineModel, variation: MachineVariation,
                        random: inout SeededRandom) -> Double {
        let late = health * health
        switch self {
        case .temperature: return base * (1 + machine.lateRise * late) + 0.2 * random.gaussian()
        case .current: return base * (1 + machine.lateRise * late) * (1 + 0.005 * random.gaussian())
        case .vibrationRMS: return variation.gain * base * (1 + 4 * health) * (1 + 0.03 * random.gaussian())
        case .vibrationHF:
            // Bearing impacts ring the structure at high frequency, above the machine's own noise
            // there; shaft faults add little at those frequencies.
            let rise = mode.isBearingDefect ? 8 * variation.impact : 0.5
            return variation.gain * base * (variation.noise + rise * health) * (1 + 0.05 * random.gaussian())
        case .pressure: return base * (1 - 0.2 * health) * (1 + 0.01 * random.gaussian())
        case .flow: return base * (1 - 0.3 * health) * (1 + 0.01 * random.gaussian())
        case .speed: return base * (1 - 0.02 * health) + 2 * random.gaussian()
        case .vibration: return variation.gain * variation.noise * machine.noise * random.gaussian()
        }
    }
}
