import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Acceleration of a rotating machine with a rolling-element bearing, as a vibration analyst
/// would recognise it (Randall and Antoni 2011; McFadden and Smith 1984):
///
/// - shaft harmonics: 1x (imbalance) and 2x (misalignment), growing with those faults;
/// - a bearing defect: an impact every 1/f_defect seconds with 1.5% slip jitter, each ringing
///   the structural resonance and decaying; inner-race impacts are amplitude-modulated by the
///   shaft (the load zone), ball impacts by the cage (FTF);
/// - broadband noise.
public struct VibrationSynthesizer: Sendable {
    public let machine: MachineModel
    public let rateHz: Double
    /// How hard this machine's bearing impacts hit, relative to its type's (`MachineVariation`).
    public let impact: Double
    private let ring: [Double]

    public init(machine: MachineModel, rateHz: Double, impact: Double = 1) {
        self.machine = machine
        self.rateHz = rateHz
        self.impact = impact
        // The impulse response of the resonance, sampled: six time constants long.
        let length = max(1, Int(6 / machine.dampingPerSecond * rateHz))
        ring = (0..<length).map { index in
            let tau = Double(index) / rateHz
            return exp(-machine.dampingPerSecond * tau) * sin(2 * .pi * machine.resonanceHz * tau)
        }
    }

    /// The defect frequency a fault mode makes impacts at, Hz (nil for shaft faults).
    public func defectHz(_ mode: FaultMode) -> Double? {
        let orders = machine.bearing.orders
        switch mode {
        case .outerRace: return orders.bpfo * machine.shaftHz
        case .innerRace: return orders.bpfi * machine.shaftHz
        case .ball: return 2 * orders.bsf * machine.shaftHz
        case .imbalance, .misalignment: return nil
        }
    }

    /// Fills `samples` with `count` samples for a machine at damage `health` of fault `mode`.
    public func block(count: Int, mode: FaultMode, health: Double, random: inout SeededRandom, into samples: inout [Double]) {
        samples.removeAll(keepingCapacity: true)
        let shaft = machine.shaftHz
        let first = 0.02 + (mode == .imbalance ? 0.6 * health : 0)
        let second = 0.008 + (mode == .misalignment ? 0.4 * health : 0)
        let phase1 = random.uniform() * 2 * .pi
        let phase2 = random.uniform() * 2 * .pi
        let step = 2 * Double.pi * shaft / rateHz
        for index in 0..<count {
            let angle = step * Double(index)
            samples.append(first * sin(angle + phase1) + second * sin(2 * angle + phase2) + machine.noise * random.gaussian())
        }
        guard let defect = defectHz(mode), health > 0 else { return }
        let period = 1 / defect
        let modulation = mode == .innerRace ? shaft : mode == .ball ? machine.bearing.orders.ftf * shaft : 0
        let modulationPhase = random.uniform() * 2 * .pi
        let duration = Double(count) / rateHz
        var time = random.uniform() * period
        while time < duration {
            let jittered = time + 0.015 * period * random.gaussian()
            let start = Int((jittered * rateHz).rounded())
            var amplitude = 1.5 * impact * health
            if modulation > 0 { amplitude *= 0.6 + 0.4 * cos(2 * .pi * modulation * jittered + modulationPhase) }
            if start >= 0 && start < count {
                for offset in 0..<min(ring.count, count - start) { samples[start + offset] += amplitude * ring[offset] }
            }
            time += period
        }
    }
}
