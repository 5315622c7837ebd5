import FirmwareSim
import Testing
import VigilCore
import VigilFeatures
#if canImport(Glibc)
import Glibc
#endif

@Suite("Simulated machine physics")
struct PhysicsTests {
    /// The CWRU drive-end bearing (6205), as in devices/induction-motor.json.
    static let machine: MachineModel = {
        let profile = try! DeviceProfile.loadAll(folder: String(#filePath.split(separator: "/Tests/").first!) + "/devices")
            .first { $0.type == "induction-motor" }!
        return profile.machine!
    }()

    @Test func bearingDefectOrdersMatchTheCWRUBearing() {
        let orders = Self.machine.bearing.orders
        #expect(abs(orders.bpfo - 3.5848) < 5e-4)
        #expect(abs(orders.bpfi - 5.4152) < 5e-4)
        #expect(abs(orders.ftf - 0.3983) < 5e-4)
        #expect(abs(2 * orders.bsf - 4.7135) < 5e-4)
    }

    /// The peak of the squared-envelope spectrum between 20 and 300 Hz: where a vibration
    /// analyst looks for bearing defect frequencies.
    func envelopePeak(_ samples: [Double], rateHz: Double) -> Double {
        // High-pass by differencing (drops the shaft harmonics), square: the energy envelope.
        var envelope: [Double] = []
        for index in 1..<samples.count {
            let difference = samples[index] - samples[index - 1]
            envelope.append(difference * difference)
        }
        let mean = envelope.reduce(0, +) / Double(envelope.count)
        envelope = envelope.map { $0 - mean }
        var best = (frequency: 0.0, power: 0.0)
        for step in 0...560 {
            let frequency = 20 + Double(step) * 0.5
            let omega = 2 * Double.pi * frequency / rateHz
            var re = 0.0, im = 0.0
            for (index, value) in envelope.enumerated() {
                re += value * cos(omega * Double(index))
                im += value * sin(omega * Double(index))
            }
            if re * re + im * im > best.power { best = (frequency, re * re + im * im) }
        }
        return best.frequency
    }

    @Test(arguments: [FaultMode.outerRace, .innerRace])
    func envelopeSpectrumPeaksAtTheDefectFrequency(mode: FaultMode) throws {
        let synthesizer = VibrationSynthesizer(machine: Self.machine, rateHz: 12_000)
        var random = SeededRandom(seed: 42)
        var samples: [Double] = []
        synthesizer.block(count: 24_000, mode: mode, health: 0.6, random: &random, into: &samples)
        let expected = try #require(synthesizer.defectHz(mode))
        let peak = envelopePeak(samples, rateHz: 12_000)
        #expect(abs(peak - expected) <= 0.02 * expected, "peak \(peak) Hz, \(mode) at \(expected) Hz")
    }

    /// Each defect's envelope feature rises for its own fault and stays near healthy for the
    /// other race's, although twice BPFI lies 2 Hz from three times BPFO on this bearing: the
    /// line both share is left out of the inner race's measure.
    @Test(arguments: [2048, 8192])
    func envelopeFeaturesTellTheRacesApart(samples count: Int) throws {
        let profile = try DeviceProfile.loadAll(folder: String(#filePath.split(separator: "/Tests/").first!) + "/devices")
            .first { $0.type == "induction-motor" }!
        let spec = try #require(profile.features.first { $0.defectHz["envelope_band_bpfo"] != nil })
        let extractor = FeatureExtractor(names: ["envelope_band_bpfo", "envelope_band_bpfi"], sampleRateHz: 12_000, defectHz: spec.defectHz)
        let synthesizer = VibrationSynthesizer(machine: Self.machine, rateHz: 12_000)
        var random = SeededRandom(seed: 11)
        var samples: [Double] = [], features: [Double] = []
        for (mode, own) in [(FaultMode.outerRace, 0), (.innerRace, 1)] {
            synthesizer.block(count: count, mode: mode, health: 0.3, random: &random, into: &samples)
            samples.withUnsafeBufferPointer { values in
                let times = (0..<count).map { Double($0) / 12_000 }
                times.withUnsafeBufferPointer { extractor.compute(values: values, timestamps: $0, into: &features) }
            }
            // Noise alone reads a few dB (the largest of nine bands), under 7 dB.
            #expect(features[own] > 12 && features[1 - own] < 7, "\(mode) at \(count) samples: bpfo, bpfi \(features) dB")
        }
    }

    @Test func rmsAndKurtosisGrowOverALife() {
        let synthesizer = VibrationSynthesizer(machine: Self.machine, rateHz: 12_000)
        var random = SeededRandom(seed: 7)
        var samples: [Double] = []
        var rms: [Double] = []
        var kurtosis: [Double] = []
        let life = MachineLife(mode: .outerRace, installedAt: 0, onsetAt: 600, failsAt: 1000)
        for time in [0.0, 500, 700, 850, 1000] {
            synthesizer.block(count: 12_000, mode: life.mode, health: life.health(at: time), random: &random, into: &samples)
            let mean = samples.reduce(0, +) / Double(samples.count)
            let m2 = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(samples.count)
            let m4 = samples.reduce(0) { $0 + pow($1 - mean, 4) } / Double(samples.count)
            rms.append((samples.reduce(0) { $0 + $1 * $1 } / Double(samples.count)).squareRoot())
            kurtosis.append(m4 / (m2 * m2))
        }
        #expect(abs(rms[0] - rms[1]) < 0.1 * rms[0], "healthy until the onset: \(rms)")
        #expect(abs(kurtosis[0] - 3) < 0.3, "healthy vibration is near-Gaussian: \(kurtosis)")
        #expect(rms[2] < rms[3] && rms[3] < rms[4], "RMS grows after the onset: \(rms)")
        #expect(kurtosis[3] > kurtosis[1] && kurtosis[4] > 6, "impacts make the signal impulsive: \(kurtosis)")
    }

    /// A fan's two vibration readings tell a bearing fault from imbalance without a spectrum:
    /// velocity rises alike for both, but only a bearing fault's impacts lift the high-frequency
    /// acceleration well above the machine's own, even on a machine with weak impacts over loud
    /// noise (the far end of a plant's spread).
    @Test func highFrequencyAccelerationTellsABearingFaultFromImbalance() throws {
        let profiles = try DeviceProfile.loadAll(folder: String(#filePath.split(separator: "/Tests/").first!) + "/devices")
        let fan = try #require(profiles.first { $0.type == "cooling-fan" }?.machine)
        var weak = MachineVariation.none
        weak.impact = 0.5
        weak.noise = 2
        var random = SeededRandom(seed: 3)
        func mean(_ signal: SignalModel, _ mode: FaultMode, health: Double, _ variation: MachineVariation) -> Double {
            var sum = 0.0
            for _ in 0..<400 { sum += signal.reading(base: 1, health: health, mode: mode, machine: fan, variation: variation, random: &random) }
            return sum / 400
        }
        for variation in [MachineVariation.none, weak] {
            let healthy = mean(.vibrationHF, .imbalance, health: 0, variation)
            let bearing = mean(.vibrationHF, .outerRace, health: 0.5, variation) / healthy - 1
            let imbalance = mean(.vibrationHF, .imbalance, health: 0.5, variation) / healthy - 1
            #expect(bearing > 4 * imbalance && bearing > 0.9, "high-frequency rise: bearing \(bearing), imbalance \(imbalance)")
            let velocity = mean(.vibrationRMS, .outerRace, health: 0.5, variation) / mean(.vibrationRMS, .imbalance, health: 0.5, variation)
            #expect(abs(velocity - 1) < 0.02, "velocity, bearing over imbalance: \(velocity)")
        }
    }

    @Test func healthIndexIsZeroThenGrowsToOne() {
        let life = MachineLife(mode: .ball, installedAt: 0, onsetAt: 60, failsAt: 100)
        #expect(life.health(at: 30) == 0)
        #expect(life.health(at: 60) == 0)
        #expect(life.health(at: 80) > 0 && life.health(at: 80) < 0.1)
        #expect(abs(life.health(at: 100) - 1) < 1e-12)
    }
}
