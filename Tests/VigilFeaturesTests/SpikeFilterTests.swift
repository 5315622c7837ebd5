import Testing
import VigilCore
import VigilFeatures

/// What reaches the feature windows of a sensor with spikes, steps and noise.
@Suite("Spike filter")
struct SpikeFilterTests {
    /// Runs `values` (one a second) through a filter: what passes, and how many spikes it found.
    static func filtered(_ values: [Double]) -> (passed: [(timestamp: Double, value: Double)], spikes: Int) {
        var filter = SpikeFilter()
        var passed: [(timestamp: Double, value: Double)] = []
        var spikes = 0
        for (index, value) in values.enumerated() {
            spikes += filter.next(timestamp: Double(index), value: value) { passed.append(($0, $1)) }
        }
        return (passed, spikes)
    }

    static func noisy(_ index: Int) -> Double { 40 + Double(index % 7) * 0.1 }

    /// One reading in fifty at five times the level is left out, every other reading passes in
    /// order; the last spike waits for the reading that would tell it from a step.
    @Test func spikesAreLeftOut() {
        let values = (0..<1_000).map { $0 % 50 == 49 ? 5 * Self.noisy($0) : Self.noisy($0) }
        let (passed, spikes) = Self.filtered(values)
        #expect(spikes == 19)
        #expect(passed.map(\.timestamp) == (0..<1_000).filter { $0 % 50 != 49 }.map(Double.init))
        #expect(passed.allSatisfy { $0.value < 41 })
    }

    /// Two glitches in a row are spikes too; three off in a row are not, and pass, however soon
    /// the sensor returns to its level after them.
    @Test func twoInARowAreSpikesThreeAreNot() {
        let pairs: Set<Int> = [100, 101, 300, 301, 302]
        let values = (0..<400).map { pairs.contains($0) ? 5 * Self.noisy($0) : Self.noisy($0) }
        let (passed, spikes) = Self.filtered(values)
        #expect(spikes == 2)
        #expect(passed.map(\.timestamp) == (0..<400).filter { $0 != 100 && $0 != 101 }.map(Double.init))
    }

    /// A step to a new level passes whole, its first readings a few readings late; and a spike
    /// once the level has settled after it is left out again.
    @Test func aStepPassesWhole() {
        let values = (0..<600).map { index in
            index == 500 ? 500 : (index < 300 ? Self.noisy(index) : 60 + Self.noisy(index))
        }
        let (passed, spikes) = Self.filtered(values)
        #expect(passed.map(\.timestamp) == (0..<600).filter { $0 != 500 }.map(Double.init))
        #expect(passed[300].value == values[300])
        #expect(spikes == 1)
        // A step just beyond the limit, which the level takes in within a few readings, passes
        // whole too: the level does not learn from readings held as possible spikes.
        let wide = (0..<400).map { index in Double(40 + index % 7) + (index < 300 ? 0 : 18) }
        #expect(Self.filtered(wide).passed.count == wide.count)
    }

    /// A spike among the readings the level starts from does not blind the filter: they judge
    /// by their median, and the level starts at their median, so the spikes after them are left
    /// out too.
    @Test func aSpikeAmongTheFirstReadingsDoesNotBlindIt() {
        var values = (0..<100).map(Self.noisy)
        values[5] = 3 * Self.noisy(5)
        for index in [12, 30, 60] { values[index] = 1.5 * Self.noisy(index) }
        let (passed, spikes) = Self.filtered(values)
        #expect(spikes == 4)
        #expect(passed.map(\.timestamp) == (0..<100).filter { ![5, 12, 30, 60].contains($0) }.map(Double.init))
    }

    /// The very first readings wait until there are enough to judge each other by, then pass in
    /// order: a spike among them, the very first reading or the last of them, reaches no window
    /// (it would sit in the baseline a model measures the machine against), and three off in a
    /// row among them are a step, which passes.
    @Test func theVeryFirstReadingsAreJudgedToo() {
        var values = (0..<40).map(Self.noisy)
        for index in [0, 3, SpikeFilter.fewest - 1] { values[index] = 5 * Self.noisy(index) }
        let (passed, spikes) = Self.filtered(values)
        #expect(spikes == 3)
        #expect(passed.map(\.timestamp) == (0..<40).filter { ![0, 3, SpikeFilter.fewest - 1].contains($0) }.map(Double.init))
        var filter = SpikeFilter(), count = 0
        for index in 0..<SpikeFilter.fewest {
            #expect(count == 0)
            _ = filter.next(timestamp: Double(index), value: Self.noisy(index)) { _, _ in count += 1 }
        }
        #expect(count == SpikeFilter.fewest)
        let step = (0..<40).map { $0 >= 5 ? 60 + Self.noisy($0) : Self.noisy($0) }
        let stepped = Self.filtered(step)
        #expect(stepped.spikes == 0 && stepped.passed.map(\.timestamp) == (0..<40).map(Double.init))
    }

    /// Readings of a sound sensor all pass (noisy, of coarse steps, or between two states), and
    /// so do first readings as far apart as they vary (their median deviation is no guide).
    @Test func soundReadingsAndTheFirstOnesPass() {
        for seed in UInt64(1)...20 {
            var random = SeededRandom(seed: seed)
            let sound = (0..<5_000).map { _ in 100 + Double.random(in: -1...1, using: &random) }
            #expect(Self.filtered(sound).passed.count == sound.count, "seed \(seed)")
        }
        let early = [1.0, 50, 1, 2, 80, 1] + Array(repeating: 1.0, count: SpikeFilter.warmUp - 6)
        #expect(Self.filtered(early).passed.map(\.value) == early)
        // Readings mostly equal: a sensor of coarse steps, and one between two states.
        let coarse = (0..<500).map { $0 % 10 < 7 ? 40.0 : 41 }
        #expect(Self.filtered(coarse).passed.count == coarse.count)
        let twoStates = (0..<500).map { $0 % 2 == 0 ? 60.0 : 140 }
        #expect(Self.filtered(twoStates).passed.count == twoStates.count)
    }
}
