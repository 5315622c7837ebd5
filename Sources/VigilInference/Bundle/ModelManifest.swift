#if canImport(Glibc)
import Glibc
#endif
import VigilCore

/// What a model bundle says about its model: identity, the devices it serves, the feature
/// vector it expects (in order, with standardisation), its outputs, its layers' quantization,
/// and where it came from (training lineage, hold-out metrics), as free JSON.
public struct ModelManifest: Sendable, Equatable {
    /// One input: a feature of a sensor's window, as a device profile names it.
    public struct Input: Sendable, Equatable {
        public var sensor: String
        public var feature: String
        public var window: FeatureWindowSpec.Window

        public init(sensor: String, feature: String, window: FeatureWindowSpec.Window) {
            self.sensor = sensor
            self.feature = feature
            self.window = window
        }
    }

    /// One int8 dense layer's shape and quantization; its tensors follow in the bundle.
    public struct Layer: Sendable, Equatable {
        public var inputs: Int
        public var outputs: Int
        public var activation: QuantizedDense.Activation
        public var input: QuantizationParameters
        public var output: QuantizationParameters

        public init(inputs: Int, outputs: Int, activation: QuantizedDense.Activation,
                    input: QuantizationParameters, output: QuantizationParameters) {
            self.inputs = inputs
            self.outputs = outputs
            self.activation = activation
            self.input = input
            self.output = output
        }
    }

    public var name: String
    /// Semantic version, `major.minor.patch`.
    public var version: String
    public var createdAt: String
    public var deviceTypes: [String]
    public var inputs: [Input]
    /// With a context, the network also takes each input relative to the device's baseline and
    /// its trend (`InputContext`); a bundle without one takes the inputs alone.
    public var context: InputContext?
    /// Per network input (`networkInputs`), the standardisation, and what then bounds it.
    public var means: [Double]
    public var scales: [Double]
    public var squash: Squash
    /// Class names (softmax over outputs), or one name for a score (sigmoid).
    public var classes: [String]
    /// Every member network's layers, member after member (`members`).
    public var layers: [Layer]
    /// How many networks of equal depth `layers` holds: the model's probabilities are their
    /// mean, an ensemble steadier than any one training run (a bundle without the field has one).
    public var members: Int
    /// The requantization rounding the model was quantized for; a bundle without one predates
    /// the choice and was made for double rounding.
    public var rounding: QuantizedMultiplier.Rounding
    /// When windows make an alarm (a bundle without one: each window at 0.5 or more).
    public var alarm: AlarmPolicy
    /// How unlike healthy windows a window is, with its own alarm (bundles may have none).
    public var anomaly: AnomalyScore?
    /// What names the fault mode at an alarm, in the anomaly score's terms (bundles may have
    /// none: then the network's most likely failing class does, if it has one per mode).
    public var diagnosis: FaultDiagnosis?
    /// Which sensors are judged for drift, in the anomaly score's terms (bundles may have none).
    public var sensorDrift: SensorDriftCheck?
    /// The failing probability where a damage's size and rate are measured, in place of the
    /// networks' (bundles may have none).
    public var clock: DegradationClock?
    /// Per input, the nine inner decile edges of its training values: what input drift is
    /// measured against (empty in bundles made without them).
    public var inputDeciles: [[Double]]
    /// Training data lineage and hold-out metrics, kept as given.
    public var lineage: JSONValue
    public var metrics: JSONValue

    public init(name: String, version: String, createdAt: String, deviceTypes: [String], inputs: [Input], context: InputContext? = nil,
                means: [Double], scales: [Double], squash: Squash = .none, classes: [String], layers: [Layer], members: Int = 1,
                rounding: QuantizedMultiplier.Rounding = .single,
                alarm: AlarmPolicy = .single, anomaly: AnomalyScore? = nil, diagnosis: FaultDiagnosis? = nil,
                sensorDrift: SensorDriftCheck? = nil, clock: DegradationClock? = nil, inputDeciles: [[Double]] = [], lineage: JSONValue = .object([]),
                metrics: JSONValue = .object([])) {
        self.name = name
        self.version = version
        self.createdAt = createdAt
        self.deviceTypes = deviceTypes
        self.inputs = inputs
        self.context = context
        self.means = means
        self.scales = scales
        self.squash = squash
        self.classes = classes
        self.layers = layers
        self.members = members
        self.rounding = rounding
        self.alarm = alarm
        self.anomaly = anomaly
        self.diagnosis = diagnosis
        self.sensorDrift = sensorDrift
        self.clock = clock
        self.inputDeciles = inputDeciles
        self.lineage = lineage
        self.metrics = metrics
    }

    /// What bounds a standardised input before the network: nothing, or `asinh`, linear near 0
    /// and logarithmic beyond, so a machine far outside the training data saturates gently
    /// instead of driving the network where it never learned, and int8's one input scale keeps
    /// its steps for ordinary values.
    public enum Squash: String, Sendable, Equatable {
        case none
        case asinh

        @inline(__always)
        public func callAsFunction(_ z: Double) -> Double {
            switch self {
            case .none: z
            case .asinh: Glibc.asinh(z)
            }
        }
    }

    /// Whether the healthy value of every network input is known: the inputs have a context and
    /// the anomaly score covers the relative and trend ones (the absolute ones' is the training
    /// mean). Drift is judged, and a stuck or drifting sensor's inputs put at healthy, in its terms.
    public var knowsHealthyInputs: Bool { context != nil && anomaly?.firstInput == inputs.count }

    /// Every network input's value on a healthy machine (`InputContext.healthyInputs`), when
    /// the manifest `knowsHealthyInputs`: where a sensor that cannot be trusted is put.
    public var healthyInputs: [Double]? {
        guard let context, let anomaly else { return nil }
        return context.healthyInputs(means: means.prefix(inputs.count), anomaly: anomaly)
    }

    /// Where the network inputs an anomaly score covers end: with a context, after the relative
    /// and trend ones (`InputContext.relativeAndTrend`); without, at the last input.
    public var anomalyEnd: Int { context == nil ? networkInputs : InputContext.relativeAndTrend(raw: inputs.count).upperBound }

    /// Network input `index` of `raw`, standardised and bounded as the network takes it (0 for an
    /// absolute input the network leaves out, `InputContext.absolute`).
    @inline(__always)
    public func standardised(_ raw: Double, input index: Int) -> Double {
        Self.standardised(raw, input: index, means: means, scales: scales, squash: squash, context: context, rawInputs: inputs.count)
    }

    /// The one standardisation rule, for the trainer before there is a manifest as for the agent:
    /// `(raw - mean) / scale`, bounded by `squash`; 0 for an absolute input (one of the first
    /// `rawInputs`) that `context` leaves out.
    @inline(__always)
    public static func standardised(_ raw: Double, input index: Int, means: [Double], scales: [Double], squash: Squash,
                                    context: InputContext?, rawInputs: Int) -> Double {
        guard context?.takes(input: index, raw: rawInputs) ?? true else { return 0 }
        return squash((raw - means[index]) / scales[index])
    }

    /// The network's input names: `sensor.feature`, then with a context each `:relative` and
    /// `:trend` (`InputContext.names`).
    public var networkInputNames: [String] {
        InputContext.names(inputs.map { "\($0.sensor).\($0.feature)" }, for: context)
    }

    /// How many values the network takes: the inputs, and with a context their derived ones.
    public var networkInputs: Int { context?.width(raw: inputs.count) ?? inputs.count }

    /// Whether a class means failing within the horizon: `failing`, or `failing:<mode>`.
    public static func isFailing(_ name: String) -> Bool { name == "failing" || name.hasPrefix("failing:") }

    /// The probability of trouble of class `probabilities` for `classes`: the sum over the
    /// failing classes; for a model without any, 1 minus the first class's; a single score itself.
    public static func trouble(_ probabilities: [Double], classes: [String]) -> Double {
        guard classes.count > 1 else { return probabilities[0] }
        var sum = 0.0, any = false
        for (index, name) in classes.enumerated() where isFailing(name) {
            sum += probabilities[index]
            any = true
        }
        return any ? sum : 1 - probabilities[0]
    }

    /// The fault mode a model with mode classes (`failing:<mode>`) finds most likely in
    /// `probabilities`, whether or not it alarms; nil for a model without modes.
    public static func faultMode(_ probabilities: [Double], classes: [String]) -> String? {
        let best = classes.indices.filter { isFailing(classes[$0]) }.max { probabilities[$0] < probabilities[$1] }
        return best.flatMap { classes[$0].hasPrefix("failing:") ? String(classes[$0].dropFirst("failing:".count)) : nil }
    }

    /// Member `index`'s layers (`members`).
    public func layers(ofMember index: Int) -> ArraySlice<Layer> {
        let depth = layers.count / members
        return layers[(index * depth)..<((index + 1) * depth)]
    }

    /// The oldest bundle format that holds this manifest (`ModelBundle.formatVersion`).
    public var format: Int {
        if clock != nil { return 9 }
        if context?.paced == true { return 8 }
        if context?.absolute == false { return 7 }
        if context?.level == true { return 6 }
        if anomaly?.isGrouped == true { return 5 }
        if members > 1 { return 4 }
        if context?.growth == true { return 3 }
        return squash == .none ? 1 : 2
    }

    /// The version as comparable numbers.
    public var versionNumbers: [Int] { version.split(separator: ".").map { Int($0) ?? 0 } }

    /// The manifest as JSON, as the bundle stores it.
    public var json: JSONValue {
        func window(_ window: FeatureWindowSpec.Window) -> JSONValue {
            switch window {
            case .count(let size, let hop): ["size": .number(Double(size)), "hop": .number(Double(hop))]
            case .time(let seconds, let hop): ["seconds": .number(seconds), "hop_seconds": .number(hop)]
            }
        }
        var fields: [(key: String, value: JSONValue)] = [
            ("name", .string(name)), ("version", .string(version)), ("created_at", .string(createdAt)),
            ("device_types", .array(deviceTypes.map(JSONValue.string))),
            ("inputs", .array(inputs.map { ["sensor": .string($0.sensor), "feature": .string($0.feature), "window": window($0.window)] })),
        ]
        if let context {
            var entry: [(key: String, value: JSONValue)] = [("baseline_seconds", .number(context.baselineSeconds)),
                                                            ("trend_seconds", .number(context.trendSeconds)), ("growth", .bool(context.growth))]
            if context.paced { entry.append(("network_trend_seconds", .number(context.networkTrendSeconds))) }
            if context.level { entry.append(("level", .bool(true))) }
            if !context.absolute { entry.append(("absolute", .bool(false))) }
            fields.append(("context", .object(entry)))
        }
        let rest: JSONValue = [
            "standardization": .object([("means", .array(means.map(JSONValue.number))), ("scales", .array(scales.map(JSONValue.number)))]
                                       + (squash == .none ? [] : [("squash", .string(squash.rawValue))])),
            "classes": .array(classes.map(JSONValue.string)),
            "layers": .array(layers.map {
                ["inputs": .number(Double($0.inputs)), "outputs": .number(Double($0.outputs)), "activation": .string($0.activation.rawValue),
                 "input_scale": .number($0.input.scale), "input_zero_point": .number(Double($0.input.zeroPoint)),
                 "output_scale": .number($0.output.scale), "output_zero_point": .number(Double($0.output.zeroPoint))]
            }),
            "rounding": .string(rounding.rawValue),
            "alarm": ["threshold": .number(alarm.threshold), "consecutive": .number(Double(alarm.consecutive))],
            "input_deciles": .array(inputDeciles.map { .array($0.map(JSONValue.number)) }),
            "lineage": lineage, "metrics": metrics,
        ]
        if case .object(let more) = rest { fields += more }
        if members > 1 { fields.append(("members", .number(Double(members)))) }
        if let anomaly {
            var entry: [(key: String, value: JSONValue)] = [
                ("first_input", .number(Double(anomaly.firstInput))), ("centers", .array(anomaly.centers.map(JSONValue.number))),
                ("scales", .array(anomaly.scales.map(JSONValue.number))), ("threshold", .number(anomaly.alarm.threshold)),
                ("consecutive", .number(Double(anomaly.alarm.consecutive))),
            ]
            if anomaly.isGrouped {
                entry += [("groups", .array(anomaly.groups.map { .number(Double($0)) })), ("norms", .array(anomaly.norms.map(JSONValue.number)))]
            }
            fields.append(("anomaly", .object(entry)))
        }
        if let diagnosis {
            var entry: [(key: String, value: JSONValue)] = [("modes", .array(diagnosis.modes.map(JSONValue.string))),
                                                            ("signatures", .array(diagnosis.signatures.map { .array($0.map(JSONValue.number)) }))]
            if diagnosis.margin != 0 { entry.append(("margin", .number(diagnosis.margin))) }
            fields.append(("diagnosis", .object(entry)))
        }
        if let sensorDrift {
            fields.append(("sensor_drift", ["sensors": .array(sensorDrift.sensors.map(JSONValue.string))]))
        }
        if let clock {
            fields.append(("clock", .object([
                ("size", .number(Double(clock.size))), ("rates", .array(clock.rates.map { .number(Double($0)) })),
                ("seconds", .number(clock.seconds)), ("weights", .array(clock.weights.map(JSONValue.number))),
            ])))
        }
        return .object(fields)
    }

    /// Reads and validates a manifest. Everything is read into locals first and the value made
    /// at the end: a throwing initialiser that fails half-way through its stored properties is
    /// a path better not taken.
    init(json value: JSONValue) throws(BundleError) {
        self = try Self.parse(value)
        try validate()
    }

    private static func parse(_ value: JSONValue) throws(BundleError) -> ModelManifest {
        do {
            let reader = try JSONObjectReader(value, file: "manifest")
            let name = try reader.string("name")
            let version = try reader.string("version")
            let createdAt = try reader.string("created_at")
            let deviceTypes = try reader.strings("device_types")
            var inputs: [Input] = []
            for entry in try reader.objects("inputs") {
                // One `try` per statement: each value is read into a local first.
                let window = try entry.object("window")
                let spec: FeatureWindowSpec.Window
                if let size = try window.optionalInteger("size") {
                    let hop = try window.integer("hop")
                    spec = .count(size: size, hop: hop)
                } else {
                    let seconds = try window.double("seconds")
                    let hop = try window.double("hop_seconds")
                    spec = .time(seconds: seconds, hopSeconds: hop)
                }
                let sensor = try entry.string("sensor")
                let feature = try entry.string("feature")
                inputs.append(Input(sensor: sensor, feature: feature, window: spec))
            }
            var context: InputContext?
            if reader.value("context") != nil {
                let entry = try reader.object("context")
                let baseline = try entry.double("baseline_seconds")
                let trend = try entry.double("trend_seconds")
                guard baseline >= 0, trend > 0 else { throw entry.error(nil, "needs baseline_seconds >= 0 and trend_seconds > 0") }
                // Bundles from before growth inputs have no such field.
                let growth = try entry.optionalBool("growth") ?? false
                // Nor from before the network's trends had a time constant of their own.
                let networkTrend = try entry.optionalDouble("network_trend_seconds") ?? trend
                guard networkTrend > 0 else { throw entry.error("network_trend_seconds", "must be positive, got \(networkTrend)") }
                // Nor from before level inputs.
                let level = try entry.optionalBool("level") ?? false
                guard growth || !level else { throw entry.error("level", "needs growth: the level is the change whose trend the growth is") }
                // Nor from before absolute inputs could be left out.
                let absolute = try entry.optionalBool("absolute") ?? true
                context = InputContext(baselineSeconds: baseline, trendSeconds: trend, networkTrendSeconds: networkTrend, growth: growth,
                                       level: level, absolute: absolute)
            }
            let standardization = try reader.object("standardization")
            let means = try standardization.numbers("means")
            let scales = try standardization.numbers("scales")
            let squashName = try standardization.optionalString("squash") ?? Squash.none.rawValue
            guard let squash = Squash(rawValue: squashName) else {
                throw standardization.error("squash", "must be none or asinh, got \(squashName)")
            }
            let classes = try reader.strings("classes")
            var layers: [Layer] = []
            for entry in try reader.objects("layers") {
                let activationName = try entry.string("activation")
                guard let activation = QuantizedDense.Activation(rawValue: activationName) else {
                    throw entry.error("activation", "must be none or relu")
                }
                let inputs = try entry.integer("inputs")
                let outputs = try entry.integer("outputs")
                let inputScale = try entry.double("input_scale")
                let inputZeroPoint = try entry.integer("input_zero_point")
                let outputScale = try entry.double("output_scale")
                let outputZeroPoint = try entry.integer("output_zero_point")
                guard (-128...127).contains(inputZeroPoint), (-128...127).contains(outputZeroPoint) else {
                    throw entry.error(nil, "zero points must be int8")
                }
                layers.append(Layer(inputs: inputs, outputs: outputs, activation: activation,
                                    input: QuantizationParameters(scale: inputScale, zeroPoint: Int32(inputZeroPoint)),
                                    output: QuantizationParameters(scale: outputScale, zeroPoint: Int32(outputZeroPoint))))
            }
            // Bundles from before ensembles have no such field: one network.
            let members = try reader.optionalInteger("members") ?? 1
            let roundingName = try reader.optionalString("rounding") ?? QuantizedMultiplier.Rounding.double.rawValue
            guard let rounding = QuantizedMultiplier.Rounding(rawValue: roundingName) else {
                throw reader.error("rounding", "must be single or double, got \(roundingName)")
            }
            var alarm = AlarmPolicy.single
            if reader.value("alarm") != nil { alarm = try policy(reader.object("alarm")) }
            var anomaly: AnomalyScore?
            if reader.value("anomaly") != nil {
                let entry = try reader.object("anomaly")
                let firstInput = try entry.optionalInteger("first_input") ?? 0
                let centers = try entry.numbers("centers")
                let scales = try entry.numbers("scales")
                let anomalyAlarm = try policy(entry)
                guard scales.allSatisfy({ $0 > 0 }) else { throw entry.error("scales", "must be positive") }
                // Bundles from before groups judge every input together.
                var groups: [Int]?, norms = [1.0]
                if entry.value("norms") != nil {
                    norms = try entry.numbers("norms")
                    let numbers = try entry.numbers("groups")
                    guard numbers.allSatisfy({ $0 >= 0 && $0 < Double(norms.count) && $0 == $0.rounded() }) else {
                        throw entry.error("groups", "must be whole numbers below the \(norms.count) norms")
                    }
                    groups = numbers.map { Int($0) }
                }
                guard norms.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw entry.error("norms", "must be positive") }
                anomaly = AnomalyScore(firstInput: firstInput, centers: centers, scales: scales, groups: groups, norms: norms, alarm: anomalyAlarm)
            }
            var diagnosis: FaultDiagnosis?
            if reader.value("diagnosis") != nil {
                let entry = try reader.object("diagnosis")
                let modes = try entry.strings("modes")
                let signatures = try rowsOfNumbers(entry, "signatures")
                let margin = try entry.optionalDouble("margin") ?? 0
                diagnosis = FaultDiagnosis(modes: modes, signatures: signatures, margin: margin)
            }
            var sensorDrift: SensorDriftCheck?
            if reader.value("sensor_drift") != nil {
                let entry = try reader.object("sensor_drift")
                let sensors = try entry.strings("sensors")
                guard let check = SensorDriftCheck(sensors: sensors, inputs: inputs) else {
                    throw entry.error("sensors", "each needs a mean input, got \(sensors.joined(separator: ", "))")
                }
                sensorDrift = check
            }
            var clock: DegradationClock?
            if reader.value("clock") != nil {
                let entry = try reader.object("clock")
                let size = try entry.integer("size")
                let rates = try entry.numbers("rates")
                let seconds = try entry.double("seconds")
                let weights = try entry.numbers("weights")
                guard rates.allSatisfy({ $0 >= 0 && $0 == $0.rounded() && $0 < Double(inputs.count) }) else {
                    throw entry.error("rates", "must be input numbers below \(inputs.count)")
                }
                clock = DegradationClock(size: size, rates: rates.map { Int($0) }, seconds: seconds, weights: weights)
            }
            var inputDeciles: [[Double]] = []
            if reader.value("input_deciles") != nil {
                inputDeciles = try rowsOfNumbers(reader, "input_deciles")
                guard inputDeciles.isEmpty || inputDeciles.count == inputs.count else {
                    throw reader.error("input_deciles", "needs one row per input (\(inputs.count)), got \(inputDeciles.count)")
                }
            }
            let lineage = reader.value("lineage") ?? .object([])
            let metrics = reader.value("metrics") ?? .object([])
            return ModelManifest(name: name, version: version, createdAt: createdAt, deviceTypes: deviceTypes, inputs: inputs,
                                 context: context, means: means, scales: scales, squash: squash, classes: classes, layers: layers, members: members, rounding: rounding, alarm: alarm,
                                 anomaly: anomaly, diagnosis: diagnosis, sensorDrift: sensorDrift, clock: clock,
                                 inputDeciles: inputDeciles, lineage: lineage, metrics: metrics)
        } catch let error as ConfigurationError {
            throw .manifestInvalid("\(error.field.isEmpty ? "" : error.field + ": ")\(error.problem)")
        } catch {
            throw .manifestInvalid("\(error)")
        }
    }

    /// An array of arrays of numbers.
    private static func rowsOfNumbers(_ reader: JSONObjectReader, _ key: String) throws(ConfigurationError) -> [[Double]] {
        guard case .array(let rows)? = reader.value(key) else { throw reader.error(key, "must be arrays of numbers") }
        var result: [[Double]] = []
        for row in rows {
            guard case .array(let values) = row else { throw reader.error(key, "must be arrays of numbers") }
            result.append(try values.map { value throws(ConfigurationError) in
                guard case .number(let number) = value else { throw reader.error(key, "must be arrays of numbers") }
                return number
            })
        }
        return result
    }

    /// An alarm policy's threshold and consecutive windows, as `alarm` and `anomaly` give them.
    private static func policy(_ entry: JSONObjectReader) throws(ConfigurationError) -> AlarmPolicy {
        let threshold = try entry.double("threshold")
        let consecutive = try entry.integer("consecutive")
        guard threshold > 0, threshold < 1, (1...100).contains(consecutive) else {
            throw entry.error(nil, "needs a threshold between 0 and 1 and 1 to 100 consecutive windows")
        }
        return AlarmPolicy(threshold: threshold, consecutive: consecutive)
    }

    private func validate() throws(BundleError) {
        guard versionNumbers.count == 3, version.split(separator: ".").allSatisfy({ Int($0) != nil }) else {
            throw .manifestInvalid("version \"\(version)\" is not major.minor.patch")
        }
        guard !inputs.isEmpty, means.count == networkInputs, scales.count == networkInputs, scales.allSatisfy({ $0 > 0 }) else {
            throw .manifestInvalid("needs one mean and one positive scale per network input (\(networkInputs))")
        }
        if let diagnosis {
            guard let anomaly else { throw .manifestInvalid("diagnosis needs an anomaly score, in whose terms it is given") }
            guard diagnosis.modes.count >= 2, diagnosis.signatures.count == diagnosis.modes.count,
                  diagnosis.signatures.allSatisfy({ $0.count == anomaly.centers.count && $0.allSatisfy(\.isFinite) }) else {
                throw .manifestInvalid("diagnosis needs two modes or more and one signature of \(anomaly.centers.count) finite numbers per mode")
            }
            guard diagnosis.margin >= 0 && diagnosis.margin.isFinite else {
                throw .manifestInvalid("diagnosis margin \(diagnosis.margin) is not a distance: it must be 0 or more")
            }
        }
        if sensorDrift != nil, !knowsHealthyInputs {
            throw .manifestInvalid("sensor_drift needs a context and an anomaly score from the first relative input on, in whose terms it judges")
        }
        if let anomaly, anomaly.firstInput < 0 || anomaly.firstInput >= anomalyEnd
            || anomaly.centers.count != anomalyEnd - anomaly.firstInput || anomaly.scales.count != anomaly.centers.count
            || anomaly.groups.count != anomaly.centers.count {
            throw .manifestInvalid("anomaly needs one center, one scale and one group per network input from its first_input on, growth and level inputs aside (\(anomalyEnd) inputs)")
        }
        if let clock, !clock.fits(context, raw: inputs.count) || !classes.contains(where: Self.isFailing) {
            throw .manifestInvalid("clock needs a context with levels, a size and rates among the \(inputs.count) inputs, "
                                   + "a positive time constant, three finite weights and a failing class")
        }
        guard (1...16).contains(members), !layers.isEmpty, layers.count % members == 0 else {
            throw .manifestInvalid("members must be 1 to 16, each of as many layers (\(layers.count) layers for \(members))")
        }
        for member in 0..<members {
            let chain = layers(ofMember: member)
            guard chain.first!.inputs == networkInputs, chain.last!.outputs == max(classes.count, 1) else {
                throw .manifestInvalid("layers must take \(networkInputs) inputs and give one output per class" + (members > 1 ? " (member \(member))" : ""))
            }
            for (previous, next) in zip(chain, chain.dropFirst()) where previous.outputs != next.inputs {
                throw .manifestInvalid("a layer of \(previous.outputs) outputs feeds one of \(next.inputs) inputs")
            }
        }
        for layer in layers where layer.inputs < 1 || layer.outputs < 1 || layer.inputs > 65_536 || layer.outputs > 65_536
            || !(layer.input.scale > 0) || !(layer.output.scale > 0) {
            throw .manifestInvalid("layer shapes must be 1 to 65536 wide with positive scales")
        }
    }
}
