/// Tells a drifting sensor from a wearing machine. Wear moves a machine's sensors together (a
/// motor's temperature with its current, a pump's pressure with its flow); a sensor that drifts
/// moves alone. A judged sensor whose mean has left the device's baseline by `far` healthy
/// spreads (the anomaly score's) while every other sensor's mean stays within `near`, for
/// `seconds` of windows in a row, is drifting until it comes back within `near`. The trainer
/// judges only sensors that wear rarely moves alone in its training fleet (a fan's vibration
/// rises days before its temperature: not judged); the agent and `evaluate` apply it with this
/// one piece of code, and score the window with the drifting sensor's inputs at healthy.
public struct SensorDriftCheck: Sendable, Equatable {
    /// The sensors judged, as the profile names them.
    public let sensors: [String]
    /// Per judged sensor, and per sensor with a `mean` input (`levelSensors`: the ones that must
    /// stay near), the index among the anomaly score's inputs of that mean relative to the
    /// device's baseline.
    let judged: [Int]
    let levels: [Int]
    let levelSensors: [String]

    /// Healthy spreads a judged sensor's mean must be off (the anomaly score clips at 8), and
    /// within which every other sensor's must stay; chosen on the tuning fleets.
    public static let far = 6.0
    public static let near = 3.0
    /// How long a sensor must be off alone: 12 hours, longer than a spiking sensor's runs of
    /// off windows and short against the days a drift lasts.
    public static let seconds = 43_200.0

    /// A check of `sensors` for a model with context taking `inputs`; nil if one of them has no
    /// `mean` input.
    public init?(sensors: [String], inputs: [ModelManifest.Input]) {
        let levels = Self.levels(inputs)
        var judged: [Int] = []
        for sensor in sensors {
            guard let level = levels.first(where: { $0.sensor == sensor }) else { return nil }
            judged.append(level.index)
        }
        self.sensors = sensors
        self.judged = judged
        levelSensors = levels.map(\.sensor)
        self.levels = levels.map(\.index)
    }

    /// The sensors with a `mean` input among `inputs`, in input order, each with its first one:
    /// the levels a check compares.
    public static func levels(_ inputs: [ModelManifest.Input]) -> [(sensor: String, index: Int)] {
        var levels: [(sensor: String, index: Int)] = []
        for (index, input) in inputs.enumerated() where input.feature == "mean" && !levels.contains(where: { $0.sensor == input.sensor }) {
            levels.append((input.sensor, index))
        }
        return levels
    }

    /// Whether judged sensor `position`'s mean is far off alone in `departure`
    /// (`AnomalyScore.departure`): what a drift looks like, before it has lasted `seconds`. A
    /// sensor whose readings are `unknown` (stuck) is not judged, and no sensor is judged alone
    /// beside it.
    func isAlone(_ position: Int, in departure: [Double], unknown: [String]) -> Bool {
        let index = judged[position]
        let othersNear = zip(levels, levelSensors).allSatisfy { other, sensor in
            other == index || (!unknown.contains(sensor) && abs(departure[other]) < Self.near)
        }
        return abs(departure[index]) > Self.far && !unknown.contains(sensors[position]) && othersNear
    }

    /// The judged sensors far off alone in `departure` now (`isAlone`): the anomaly score leaves
    /// them out until the drift is confirmed or the others follow, so a drift does not alarm in
    /// the hours before this check can tell it.
    public func alone(_ departure: [Double], unknown: [String] = []) -> [String] {
        sensors.indices.filter { isAlone($0, in: departure, unknown: unknown) }.map { sensors[$0] }
    }

    /// One device's verdicts, window after window since installation or a repair.
    public struct State: Sendable {
        /// Per judged sensor, when its current run alone far off began, and whether it drifts.
        private var since: [Double?] = []
        private var drifting: [Bool] = []

        public init() {}

        /// Takes the departure from healthy (`AnomalyScore.departure`) of the window ending at
        /// `time`; returns the sensors drifting now. A sensor whose readings are `unknown` (stuck)
        /// is not judged, and no sensor is judged alone beside it.
        public mutating func next(_ departure: [Double], at time: Double, check: SensorDriftCheck, unknown: [String] = []) -> [String] {
            // A device's state is made before its model's check is known: sized at the first window.
            if since.count != check.judged.count {
                since = Array(repeating: nil, count: check.judged.count)
                drifting = Array(repeating: false, count: check.judged.count)
            }
            var found: [String] = []
            for (position, index) in check.judged.enumerated() {
                since[position] = check.isAlone(position, in: departure, unknown: unknown) ? since[position] ?? time : nil
                if let start = since[position], time - start >= SensorDriftCheck.seconds { drifting[position] = true }
                if abs(departure[index]) < SensorDriftCheck.near { drifting[position] = false }
                if drifting[position] { found.append(check.sensors[position]) }
            }
            return found
        }
    }
}
