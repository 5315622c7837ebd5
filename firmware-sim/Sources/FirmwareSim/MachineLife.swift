import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// One life of a simulated machine, from installation (or repair) to failure: healthy until
/// the onset of damage, then damage growing exponentially until it fails (the degradation
/// model of Gebraeel et al. 2005, the shape of C-MAPSS damage propagation).
public struct MachineLife: Sendable, Equatable {
    public var mode: FaultMode
    /// Simulated seconds since the start of the run (installation may lie before it).
    public var installedAt: Double
    public var onsetAt: Double
    public var failsAt: Double

    public init(mode: FaultMode, installedAt: Double, onsetAt: Double, failsAt: Double) {
        self.mode = mode
        self.installedAt = installedAt
        self.onsetAt = onsetAt
        self.failsAt = failsAt
    }

    /// Growth rate of the health index between onset and failure.
    static let growth = 6.0

    /// Damage at `time`: 0 while healthy, exponential after the onset, 1 at failure.
    public func health(at time: Double) -> Double {
        guard time > onsetAt else { return 0 }
        let progress = min(1, (time - onsetAt) / (failsAt - onsetAt))
        return (exp(Self.growth * progress) - 1) / (exp(Self.growth) - 1)
    }

    /// Draws a life starting at `start` from the profile's fault specs.
    static func draw(from faults: [FaultSpec], startingAt start: Double, random: inout SeededRandom) -> MachineLife {
        let total = faults.reduce(0) { $0 + $1.weight }
        var pick = random.uniform() * total
        let spec = faults.first { pick -= $0.weight; return pick < 0 } ?? faults[faults.count - 1]
        let life = random.uniform(spec.lifeHours) * 3600
        let onset = random.uniform(spec.onsetFraction)
        return MachineLife(mode: spec.mode, installedAt: start, onsetAt: start + onset * life, failsAt: start + life)
    }
}
