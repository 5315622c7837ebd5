#if canImport(Glibc)
import Glibc
#endif
import VigilCore

/// How one machine differs from its type's nominal one, as machines of one type do in a plant:
/// mounting and wear change how hard bearing impacts hit and which structural resonance they
/// ring, accelerometers differ in sensitivity, and process values sit around their own
/// operating point. At `spread` 1: impacts and noise x0.5 to x2, resonance x0.5 to x2 (kept
/// below 0.45 of the sample rate), sensor gain and operating point +-25% and +-5%.
public struct MachineVariation: Sendable, Equatable {
    public var impact = 1.0
    public var resonance = 1.0
    public var noise = 1.0
    public var gain = 1.0
    public var operatingPoint = 1.0

    /// Nominal machines.
    public static let none = MachineVariation()

    /// Draws one machine's variation; `spread` 0 gives `none`.
    static func draw(spread: Double, random: inout SeededRandom) -> MachineVariation {
        func factor() -> Double { exp(spread * log(2) * (2 * random.uniform() - 1)) }
        func offset(_ range: Double) -> Double { 1 + spread * range * (2 * random.uniform() - 1) }
        return MachineVariation(impact: factor(), resonance: factor(), noise: factor(), gain: offset(0.25), operatingPoint: offset(0.05))
    }

    /// The nominal machine with this variation's resonance and noise, for a sensor sampling at `rateHz`.
    func applied(to machine: MachineModel, rateHz: Double) -> MachineModel {
        var varied = machine
        varied.resonanceHz = min(machine.resonanceHz * resonance, 0.45 * rateHz)
        varied.noise = machine.noise * noise
        return varied
    }

    var json: JSONValue {
        .object([("impact", .number(impact)), ("resonance", .number(resonance)), ("noise", .number(noise)), ("gain", .number(gain)),
                 ("operating_point", .number(operatingPoint))])
    }
}
