import Logging
import VigilCore
import VigilFeatures
import VigilFleet
import VigilMQTT
import VigilObservability
import VigilSparkplug
import VigilStore

/// The writer's work: routes each message by topic, decodes it by its device profile, stores
/// its readings (or a dead letter saying why not), accounts its sequence number, and commits.
///
/// A transaction stays open across messages and is committed by the writer at least every
/// `commit_interval_ms` and every `commit_max_messages`; counters and device state go in the same
/// transaction as the rows, so after a crash the database is consistent with itself. With upload
/// on, every feature window, event and prediction is queued in the outbox in that transaction.
final class Ingestor {
    private struct Device {
        let name: String
        let type: String
        let profile: Int
        var sequence: DeviceSequence
        var series: [Int64?]
        var lastSeen: Double
        var dirty: Bool
        /// Per sensor, its feature streams with their feature set ids; made on first use.
        var features: [[(set: Int64, spec: Int, stream: FeatureStream)]]?
        /// With raw readings uploaded around alarms: readings up to this time go upstream, and
        /// those up to `uploadedUntil` already went into the outbox.
        var alarmUntil = -Double.infinity
        var uploadedUntil = -Double.infinity
        /// The last repair's time: feature windows hold only readings from then on.
        var repairedAt = -Double.infinity
        /// What is wrong with its data rather than its machine.
        var quality = DataQuality()
        /// Per sensor (value sensors use theirs), what tells its spikes from its readings; they
        /// learn the sensor's level afresh after a repair.
        var spikeFilters: [SpikeFilter]
        /// Whether a Sparkplug device is online (born and not dead); nil for a device that does not say.
        var online: Bool?
    }

    private enum Route {
        case device(Int, sensor: Int?)
        case maintenance(device: String)
        case refused(PayloadError)
    }

    private let store: AgentStore
    private let transaction: WriterTransaction
    /// Whether stored windows, events and predictions are queued for upload.
    private let upload: Bool
    /// Per profile, which raw readings are queued for upload.
    private let rawReadings: [RawReadings]
    private let router: TopicRouter
    private let decoders: [PayloadDecoder]
    private let maxPayloadBytes: Int
    /// Seconds a device's timestamps may run ahead of the agent's clock before it counts as a
    /// clock skew; nil: clocks are not judged.
    private let clockTolerance: Double?
    /// Topics `<prefix>/<device>` carry maintenance events.
    private let maintenancePrefix: String
    /// With Sparkplug B on: the host application that follows edge nodes, and where its rebirth
    /// requests go (called after the commit of the message that called for one).
    private var sparkplug: SparkplugHost?
    private let sendRebirth: (String) -> Void
    private let metrics: AgentMetrics
    private let logger: Logger
    /// Refusals and size-bound deletions are logged at most once a minute each.
    private var refusalLimit = LogRateLimit()
    private var sizeLimit = LogRateLimit()
    private var dataLossLimit = LogRateLimit()
    private var stuckLimit = LogRateLimit()
    private var driftLimit = LogRateLimit()

    private var routes: [String: Route] = [:]
    private var devices: [Device] = []
    private var deviceIndex: [String: Int] = [:]
    private var decoded = DecodedPayload()
    /// The working arrays of every device's spectral features: the writer computes one window at a time.
    private let featureScratch = FeatureScratch()
    /// Feature set ids per profile, one per feature spec.
    private var featureSets: [[Int64]] = []
    /// Feature rows emitted while feeding a message, stored right after.
    private var emitted: [(set: Int64, spec: Int, series: Int64, row: FeatureStream.Row)] = []
    /// The value readings a sensor's `SpikeFilter` passed on for its feature windows.
    private var passed: [(timestamp: Double, value: Double)] = []
    /// The installed models, scoring feature rows as they are stored.
    var scoring: ModelScoring
    /// Called after the commit that stores a prediction or abstention which changes a device's
    /// health, with the device and its health message.
    private let healthChanged: (String, JSONValue) -> Void
    /// Called for every feature window stored, with the device's profile index, the window's
    /// feature spec and what scoring it did (the model installer's health checks).
    var windowStored: ((_ profile: Int, _ spec: Int, _ observation: ModelScoring.Observation) -> Void)?
    private var counters = IngestCounters()
    /// What the open transaction stored that the metrics observe after its commit.
    private var observed = AgentMetrics.Committed(counters: IngestCounters(), published: [], predictions: [], missingChange: 0)
    private(set) var uncommittedMessages = 0
    /// Payload bytes stored in the open transaction: the WAL holds them until the commit.
    private(set) var uncommittedBytes = 0
    /// Payload bytes stored since the size bound was last checked.
    private var bytesSinceSizeCheck = 0

    /// Topics remembered at most; a flood of distinct topics only costs re-routing.
    private static let routeCacheLimit = 100_000

    init(transaction: WriterTransaction, profiles: [DeviceProfile], maxPayloadBytes: Int, clockTolerance: Double? = nil,
         maintenancePrefix: String, models: ModelCatalog, alertThreshold: Double?, upload: Bool,
         rawReadings: [String: RawReadings] = [:], sparkplug: Bool = false, sendRebirth: @escaping (String) -> Void = { _ in },
         healthChanged: @escaping (String, JSONValue) -> Void, metrics: AgentMetrics, logger: Logger) throws {
        scoring = ModelScoring(catalog: models, alertThreshold: alertThreshold)
        self.healthChanged = healthChanged
        self.maintenancePrefix = maintenancePrefix + "/"
        self.transaction = transaction
        self.upload = upload
        self.rawReadings = profiles.map { upload ? rawReadings[$0.type] ?? .off : .off }
        store = transaction.store
        router = TopicRouter(profiles: profiles)
        decoders = profiles.map(PayloadDecoder.init(profile:))
        self.maxPayloadBytes = maxPayloadBytes
        self.clockTolerance = clockTolerance
        self.sparkplug = sparkplug ? SparkplugHost(profiles: profiles) : nil
        self.sendRebirth = sendRebirth
        self.metrics = metrics
        self.logger = logger
        for profile in profiles {
            var ids: [Int64] = []
            for spec in profile.features {
                ids.append(try store.featureSet(FeatureSetIdentity(profile: profile, spec: spec)))
            }
            featureSets.append(ids)
        }
        try loadDevices()
        try warmUpAll()
        metrics.setMissing(devices.reduce(0) { $0 + $1.sequence.missing })
        metrics.setSensorFaults(sensorFaultCounts)
        metrics.setSparkplugDevices(sparkplugStates)
        transaction.onCommit { [unowned self] () throws(SQLiteError) in try saveState() }
        transaction.onRollback { [unowned self] in forget() }
    }

    /// Names of the devices of each profile seen so far.
    func devices(ofProfile profile: Int) -> [String] {
        devices.filter { $0.profile == profile }.map(\.name)
    }

    private func loadDevices() throws {
        devices.removeAll()
        deviceIndex.removeAll()
        routes.removeAll()
        let repairs = try store.lastRepairs()
        for saved in try store.loadDevices() {
            guard let profile = router.profiles.firstIndex(where: { $0.type == saved.type }) else { continue }
            deviceIndex[saved.device] = devices.count
            let sensors = router.profiles[profile].sensors.count
            devices.append(Device(name: saved.device, type: saved.type, profile: profile, sequence: saved.sequence,
                                  series: Array(repeating: nil, count: sensors),
                                  lastSeen: saved.lastSeen, dirty: false, features: nil, repairedAt: repairs[saved.device] ?? -.infinity,
                                  quality: saved.quality, spikeFilters: Array(repeating: SpikeFilter(), count: sensors), online: saved.online))
        }
    }

    /// Runs `model` for `profile` from now on, warmed up on its devices' stored windows.
    func install(_ model: ModelCatalog.Installed, profile: Int) throws(SQLiteError) {
        scoring.install(model, profile: profile)
        try warmUp(profile: profile, model: model.bundle.manifest.name)
    }

    /// Warms every installed model up (`warmUp`): one pass over each profile's windows.
    private func warmUpAll() throws(SQLiteError) {
        for (profile, models) in scoring.catalog.models.enumerated() where !models.isEmpty {
            try warmUp(profile: profile)
        }
    }

    /// Replays the committed feature windows of `profile`'s devices since their last repair
    /// through its models (or only the model `model`), without storing predictions: after a
    /// start, a rollback or an install, its devices' baselines, trends and alarm state are what
    /// they would have been had it run all along, so a model does not go blind for a day each
    /// time the agent restarts.
    private func warmUp(profile: Int, model: String? = nil) throws(SQLiteError) {
        let specs = Dictionary(uniqueKeysWithValues: featureSets[profile].enumerated().map { ($1, $0) })
        let repairedAt = Dictionary(devices.map { ($0.name, $0.repairedAt) }, uniquingKeysWith: max)
        try store.forEachFeatureRow(deviceType: router.profiles[profile].type) { device, set, start, end, values in
            guard let spec = specs[set], start >= repairedAt[device] ?? -.infinity else { return }
            _ = scoring.observe(device: device, profile: profile, spec: spec, values: values, windowEnd: end, only: model)
        }
    }

    /// Stores one message, or its dead letter. Throws only when the database fails.
    func ingest(topic topicBytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer,
                entry: MessageBatch.Entry, receivedAt: Double) throws(SQLiteError) {
        try transaction.begin()
        uncommittedMessages += 1
        let topic = String(decoding: topicBytes, as: UTF8.self)
        guard entry.payloadSize <= maxPayloadBytes else {
            return try refuse(topic, payload, entry, receivedAt, PayloadError(.oversized,
                "payload of \(entry.payloadSize) bytes exceeds max_payload_size (\(maxPayloadBytes) bytes)"))
        }
        if sparkplug != nil, topic.hasPrefix(Self.sparkplugPrefix) {
            return try ingestSparkplug(topic: topic, payload: payload, entry: entry, receivedAt: receivedAt)
        }
        switch route(topic) {
        case .refused(let error):
            try refuse(topic, payload, entry, receivedAt, error)
        case .maintenance(let device):
            do {
                let event = try MaintenanceEvent(payload: Array(payload), topicDevice: device)
                if let id = try store.insert(event, receivedAt: receivedAt) {
                    counters.maintenanceEvents += 1
                    if upload { try store.enqueue(.event, row: id) }
                    if event.kind == .repair { restart(device: event.device, repairedAt: event.timestamp) }
                }
            } catch let error as PayloadError {
                try refuse(topic, payload, entry, receivedAt, error)
            } catch {
                throw error as! SQLiteError
            }
        case .device(let index, let sensor):
            do {
                try decoders[devices[index].profile].decode(payload, sensor: sensor, into: &decoded)
            } catch {
                return try refuse(topic, payload, entry, receivedAt, error)
            }
            let stored = try write(device: index)
            try account(device: index, sequence: decoded.sequence, stored: stored, timestamp: decoded.timestamp,
                        bytes: payload.count, receivedAt: receivedAt)
        }
    }

    /// Accounts a device's message after its rows are written (or found already stored): its
    /// sequence number, data quality, and the bytes the size bound watches.
    private func account(device index: Int, sequence: Int64, stored: Bool, timestamp: Double, bytes: Int,
                         receivedAt: Double) throws(SQLiteError) {
        let missing = devices[index].sequence.missing
        devices[index].sequence.record(sequence, stored: stored)
        observed.missingChange += devices[index].sequence.missing - missing
        if stored, devices[index].quality.observe(devices[index].sequence, aheadBy: timestamp - receivedAt,
                                                  tolerance: clockTolerance) {
            sensorFaultsChanged(device: index)
        }
        devices[index].lastSeen = receivedAt
        devices[index].dirty = true
        guard stored else {
            counters.duplicates += 1
            return
        }
        counters.messages += 1
        observed.published.append(timestamp)
        bytesSinceSizeCheck += bytes
        uncommittedBytes += bytes
        // A large transaction must not carry the file far past its bound before the
        // commit checks it: check every 1/32 of the bound.
        if bytesSinceSizeCheck > Int(store.mainLimit / 32) { try enforceSizeBound() }
    }

    static let sparkplugPrefix = SparkplugTopic.namespace + "/"

    /// Stores one Sparkplug B message (births and deaths change a device's state, data is stored
    /// as the JSON path stores it), or its dead letter; rebirth requests go out after the commit.
    private func ingestSparkplug(topic: String, payload: UnsafeRawBufferPointer, entry: MessageBatch.Entry,
                                 receivedAt: Double) throws(SQLiteError) {
        let outcome: SparkplugHost.Outcome
        do {
            outcome = try sparkplug!.handle(topic: topic, payload: payload, now: receivedAt)
        } catch {
            requestRebirths()
            return try refuse(topic, payload, entry, receivedAt, error)
        }
        requestRebirths()
        switch outcome {
        case .ignored:
            return
        case .born(let name, let profile):
            guard let index = device(named: name, profile: profile) else {
                return try refuse(topic, payload, entry, receivedAt, conflict(name, profile))
            }
            setOnline(true, device: index)
        case .died(let names):
            for index in names.compactMap({ deviceIndex[$0] }) { setOnline(false, device: index) }
        case .duplicate(let name):
            guard let index = name.flatMap({ deviceIndex[$0] }) else { return }
            try account(device: index, sequence: 0, stored: false, timestamp: 0, bytes: 0, receivedAt: receivedAt)
        case .data(let name, let profile, let missed):
            guard let index = device(named: name, profile: profile) else {
                return try refuse(topic, payload, entry, receivedAt, conflict(name, profile))
            }
            let host = sparkplug!
            // A number per message of the device: the edge node's count is shared by its devices.
            decoded.sequence = max(devices[index].sequence.highest, -1) + 1 + missed
            var latest = -Double.infinity
            for block in host.blocks {
                decoded.values.removeAll(keepingCapacity: true)
                decoded.blockSensor = block.sensor
                decoded.timestamp = block.timestamp
                decoded.rateHz = router.profiles[profile].sensors[block.sensor].rateHz ?? 0
                decoded.samples.removeAll(keepingCapacity: true)
                decoded.samples.append(contentsOf: host.samples[block.samples])
                _ = try write(device: index)
                latest = max(latest, block.timestamp)
            }
            decoded.blockSensor = nil
            // Readings of one time make one message's rows, as a JSON message of several sensors.
            var start = 0
            while start < host.readings.count {
                let timestamp = host.readings[start].timestamp
                decoded.values.removeAll(keepingCapacity: true)
                decoded.timestamp = timestamp
                var end = start
                while end < host.readings.count, host.readings[end].timestamp == timestamp {
                    decoded.values.append(.init(sensor: host.readings[end].sensor, value: host.readings[end].value))
                    end += 1
                }
                _ = try write(device: index)
                latest = max(latest, timestamp)
                start = end
            }
            try account(device: index, sequence: decoded.sequence, stored: true, timestamp: latest.isFinite ? latest : receivedAt,
                        bytes: payload.count, receivedAt: receivedAt)
        }
    }

    private func requestRebirths() {
        for topic in sparkplug?.rebirths ?? [] {
            counters.rebirthRequests += 1
            logger.info("asking a Sparkplug edge node for its births", metadata: ["topic": "\(topic)"])
            transaction.afterCommit { [sendRebirth] in sendRebirth(topic) }
        }
    }

    private func conflict(_ name: String, _ profile: Int) -> PayloadError {
        PayloadError(.unknownDevice, "device \(name) is a \(devices[deviceIndex[name]!].type), but its birth describes a \(router.profiles[profile].type)")
    }

    /// A Sparkplug device was born or died: kept with the device, and said once.
    private func setOnline(_ online: Bool, device index: Int) {
        guard devices[index].online != online else { return }
        devices[index].online = online
        devices[index].dirty = true
        logger.info(online ? "a Sparkplug device is online" : "a Sparkplug device went offline",
                    metadata: ["device": "\(devices[index].name)"])
        let states = sparkplugStates
        transaction.afterCommit { [metrics] in metrics.setSparkplugDevices(states) }
    }

    /// Sparkplug devices online and offline.
    private var sparkplugStates: (online: Int, offline: Int) {
        (devices.count { $0.online == true }, devices.count { $0.online == false })
    }

    /// The index of device `name` of `profile`, made on first sight; nil when it is of another type.
    private func device(named name: String, profile: Int) -> Int? {
        if let index = deviceIndex[name] { return devices[index].profile == profile ? index : nil }
        deviceIndex[name] = devices.count
        let sensors = router.profiles[profile].sensors.count
        devices.append(Device(name: name, type: router.profiles[profile].type, profile: profile, sequence: DeviceSequence(),
                              series: Array(repeating: nil, count: sensors), lastSeen: 0, dirty: true,
                              features: nil, spikeFilters: Array(repeating: SpikeFilter(), count: sensors)))
        return devices.count - 1
    }

    private func route(_ topic: String) -> Route {
        if let known = routes[topic] { return known }
        if topic.hasPrefix(maintenancePrefix) {
            let device = String(topic.dropFirst(maintenancePrefix.count))
            return device.isEmpty || device.contains("/")
                ? .refused(PayloadError(.unknownTopic, "maintenance topics are \(maintenancePrefix)<device>"))
                : .maintenance(device: device)
        }
        let route: Route
        switch router.route(topic) {
        case .failure(let error):
            route = .refused(error)
        case .success(let found):
            let profile = router.profiles[found.profile]
            guard let index = device(named: found.device, profile: found.profile) else {
                let known = devices[deviceIndex[found.device]!]
                return .refused(PayloadError(.unknownTopic,
                    "device \(found.device) is a \(known.type), but this topic belongs to \(profile.type)"))
            }
            route = .device(index, sensor: found.sensor)
        }
        if routes.count >= Self.routeCacheLimit { routes.removeAll(keepingCapacity: true) }
        routes[topic] = route
        return route
    }

    /// Writes the decoded message's rows, and the feature windows they close; false when the
    /// message was already stored (a duplicate feeds no feature window).
    private func write(device index: Int) throws(SQLiteError) -> Bool {
        if let sensor = decoded.blockSensor {
            let seriesID = try series(index, sensor)
            let stored = try store.insertBlock(series: seriesID, seq: decoded.sequence,
                                               timestamp: decoded.timestamp, rateHz: decoded.rateHz, samples: decoded.samples)
            if stored {
                try queueReading(device: index)
                counters.rows += 1
                counters.samples += Int64(decoded.samples.count)
                guard decoded.timestamp >= devices[index].repairedAt else {
                    counters.lateSamples += Int64(decoded.samples.count)
                    return stored
                }
                for (set, spec, stream) in featureStreams(index, sensor) {
                    let late = stream.lateSamples
                    decoded.samples.withUnsafeBufferPointer { samples in
                        stream.append(block: samples, timestamp: decoded.timestamp, rateHz: decoded.rateHz) {
                            emitted.append((set, spec, seriesID, $0))
                        }
                    }
                    counters.lateSamples += Int64(stream.lateSamples - late)
                }
                try storeEmitted(device: index)
            }
            return stored
        }
        for (position, item) in decoded.values.enumerated() {
            let seriesID = try series(index, item.sensor)
            let stored = try store.insert(series: seriesID, seq: decoded.sequence, timestamp: decoded.timestamp, value: item.value)
            // A message is stored whole or not at all: if its first row was there, so are the rest.
            if !stored && position == 0 { return false }
            if stored {
                try queueReading(device: index)
                counters.rows += 1
                counters.samples += 1
                // A reading from before the last repair is the old machine's: no filter or window takes it.
                guard decoded.timestamp >= devices[index].repairedAt else {
                    counters.lateSamples += 1
                    continue
                }
                let spikes = devices[index].spikeFilters[item.sensor].next(timestamp: decoded.timestamp, value: item.value) {
                    passed.append(($0, $1))
                }
                for reading in passed {
                    feedWindows(device: index, sensor: item.sensor, series: seriesID, timestamp: reading.timestamp, value: reading.value)
                }
                passed.removeAll(keepingCapacity: true)
                counters.spikes += Int64(spikes)
                if devices[index].quality.observe(spikes: spikes) { sensorFaultsChanged(device: index) }
            }
        }
        try storeEmitted(device: index)
        return true
    }

    /// Feeds a value reading that passed its sensor's `SpikeFilter` to the sensor's feature windows.
    private func feedWindows(device index: Int, sensor: Int, series seriesID: Int64, timestamp: Double, value: Double) {
        for (set, spec, stream) in featureStreams(index, sensor) {
            let late = stream.lateSamples
            stream.append(timestamp: timestamp, value: value) { emitted.append((set, spec, seriesID, $0)) }
            counters.lateSamples += Int64(stream.lateSamples - late)
        }
    }

    /// Queues the reading row just stored for upload if the device type's `raw_readings` asks.
    private func queueReading(device index: Int) throws(SQLiteError) {
        switch rawReadings[devices[index].profile] {
        case .off:
            return
        case .every(let every):
            guard decoded.sequence % Int64(every) == 0 else { return }
        case .aroundAlarms:
            guard decoded.timestamp <= devices[index].alarmUntil, decoded.timestamp > devices[index].uploadedUntil else { return }
            devices[index].uploadedUntil = decoded.timestamp
        }
        try store.enqueue(.reading, row: store.database.lastInsertRowID)
    }

    /// An alarm at `time`: queues the device's readings of the `seconds` before it not queued
    /// yet, and has those of the `seconds` after it queued as they arrive.
    private func queueReadings(device index: Int, around time: Double, seconds: Double) throws(SQLiteError) {
        let from = max(devices[index].uploadedUntil, time - seconds)
        if from < time {
            try store.enqueueReadings(device: devices[index].name, after: from, upTo: time)
        }
        devices[index].uploadedUntil = max(devices[index].uploadedUntil, time)
        devices[index].alarmUntil = max(devices[index].alarmUntil, time + seconds)
    }

    /// The feature streams of a device's sensor, made on the device's first reading.
    private func featureStreams(_ index: Int, _ sensor: Int) -> [(set: Int64, spec: Int, stream: FeatureStream)] {
        if devices[index].features == nil {
            let profile = router.profiles[devices[index].profile]
            var streams = Array(repeating: [(set: Int64, spec: Int, stream: FeatureStream)](), count: profile.sensors.count)
            for (specIndex, spec) in profile.features.enumerated() {
                streams[spec.sensor].append((featureSets[devices[index].profile][specIndex], specIndex,
                                             FeatureStream(spec: spec, sampleRateHz: profile.sensors[spec.sensor].rateHz,
                                                           scratch: featureScratch)))
            }
            devices[index].features = streams
        }
        return devices[index].features![sensor]
    }

    /// Stores the feature rows a message closed, and the predictions they complete.
    private func storeEmitted(device index: Int) throws(SQLiteError) {
        defer { emitted.removeAll(keepingCapacity: true) }
        let device = devices[index]
        // A window whose span reaches back before the last repair is partial: not stored, not scored.
        for item in emitted where item.row.start >= device.repairedAt {
            let row = try store.insert(item.row, series: item.series, featureSet: item.set)
            if upload { try store.enqueue(.feature, row: row) }
            counters.featureRows += 1
            // Windows take disk as readings do: a fast window can outweigh its samples. A row
            // and its index entry take about half this once B-tree pages are counted; the margin
            // keeps file and WAL under the bound when the writer falls behind.
            let bytes = 2 * (item.row.values.count * 8 + 96)
            bytesSinceSizeCheck += bytes
            uncommittedBytes += bytes
            let sensor = router.profiles[device.profile].sensors[router.profiles[device.profile].features[item.spec].sensor]
            let stuck = item.row.constant && sensor.stuckCheck
            if stuck {
                counters.constantWindows += 1
                logger.log(.warning, "a sensor read one value throughout a window: stuck?", limit: &stuckLimit,
                           metadata: ["device": "\(device.name)", "sensor": "\(sensor.name)"])
            }
            let observation = scoring.observe(device: device.name, profile: device.profile, spec: item.spec,
                                              values: item.row.values, windowEnd: item.row.end, constant: stuck,
                                              sensorFaults: device.quality.names)
            counters.abstentions += Int64(observation.abstentions.count)
            for abstention in observation.abstentions where abstention.changed {
                transaction.afterCommit { [healthChanged] in healthChanged(device.name, abstention.health(device: device.name)) }
            }
            for prediction in observation.predictions {
                let id = try store.insert(prediction, device: device.name)
                if upload { try store.enqueue(.prediction, row: id) }
                counters.predictions += 1
                observed.predictions.append((device.profile, prediction.windowEnd, prediction.latencySeconds, prediction.alarm,
                                              prediction.anomalyAlarm))
                if prediction.alarm, case .aroundAlarms(let seconds) = rawReadings[device.profile] {
                    try queueReadings(device: index, around: prediction.windowEnd, seconds: seconds)
                }
                if prediction.changed, !prediction.driftingSensors.isEmpty {
                    logger.log(.warning, "a sensor drifts away from its machine: scored with its inputs at healthy", limit: &driftLimit,
                               metadata: ["device": "\(device.name)", "sensors": "\(prediction.driftingSensors.joined(separator: ","))"])
                }
                if prediction.changed {
                    transaction.afterCommit { [healthChanged] in healthChanged(device.name, prediction.health(device: device.name)) }
                }
            }
            if observation.suspectsChanged { suspectsChanged() }
            windowStored?(device.profile, item.spec, observation)
        }
    }

    /// A model found or cleared a stuck or drifting sensor, or a repair cleared them: the
    /// metrics follow after the commit.
    private func suspectsChanged() {
        let suspects = scoring.suspectDevices
        transaction.afterCommit { [metrics] in metrics.setSuspectDevices(suspects) }
    }

    /// A device's data faults changed: says so once, and has the metrics follow after the commit.
    private func sensorFaultsChanged(device index: Int) {
        let device = devices[index]
        logger.warning("a device's data quality changed", metadata: [
            "device": "\(device.name)", "sensor_faults": "\(device.quality.stored.isEmpty ? "none" : device.quality.stored)"])
        let counts = sensorFaultCounts
        transaction.afterCommit { [metrics] in metrics.setSensorFaults(counts) }
    }

    /// Devices per data fault.
    private var sensorFaultCounts: [DataQuality.Fault: Int] {
        var counts: [DataQuality.Fault: Int] = [:]
        for device in devices { for fault in device.quality.faults { counts[fault, default: 0] += 1 } }
        return counts
    }

    /// A repair restores the machine: the device's feature windows, spike filters and scoring
    /// state start afresh, so no window and no prediction mixes readings from before and after
    /// it, and no spike passes as the level of a worn machine (whose readings spread widely).
    private func restart(device name: String, repairedAt time: Double) {
        guard let index = deviceIndex[name], time > devices[index].repairedAt else { return }
        devices[index].features = nil
        devices[index].spikeFilters = Array(repeating: SpikeFilter(), count: devices[index].spikeFilters.count)
        devices[index].repairedAt = time
        if scoring.forget(device: name) { suspectsChanged() }
    }

    @inline(__always)
    private func series(_ index: Int, _ sensor: Int) throws(SQLiteError) -> Int64 {
        if let id = devices[index].series[sensor] { return id }
        let device = devices[index]
        let spec = router.profiles[device.profile].sensors[sensor]
        let id = try store.series(device: device.name, sensor: spec.name, deviceType: device.type, unit: spec.unit)
        devices[index].series[sensor] = id
        return id
    }

    private func refuse(_ topic: String, _ payload: UnsafeRawBufferPointer, _ entry: MessageBatch.Entry,
                        _ receivedAt: Double, _ error: PayloadError) throws(SQLiteError) {
        counters.deadLetter(error.reason)
        logger.log(.warning, "payload refused, kept as a dead letter", limit: &refusalLimit,
                   metadata: ["topic": "\(topic)", "reason": "\(error.reason.rawValue)", "detail": "\(error.detail)"])
        try store.deadLetter(topic: topic, error: error, payload: payload, payloadSize: entry.payloadSize,
                             receivedAt: receivedAt)
    }

    /// Saves device state and counters into the transaction about to commit, after checking the
    /// size bound.
    private func saveState() throws(SQLiteError) {
        for index in devices.indices where devices[index].dirty {
            let device = devices[index]
            try store.save(device: device.name, type: device.type, sequence: device.sequence, lastSeen: device.lastSeen,
                           quality: device.quality, online: device.online)
            devices[index].dirty = false
        }
        try enforceSizeBound()
        for (name, amount) in counters.nonZero {
            try store.add(amount, to: name)
        }
        observed.counters = counters
        transaction.afterCommit { [unowned self] in
            metrics.record(observed, committedAt: WallClock.now())
            forgetObserved()
        }
        counters = IngestCounters()
        uncommittedMessages = 0
        uncommittedBytes = 0
    }

    /// Past 95% of the file's share of the bound, deletes the oldest raw readings down to 85%,
    /// inside the open transaction, so the file stops growing and SQLite reuses the freed pages.
    /// With no reading left, feature windows and predictions in no outbox row go next (with
    /// upload on, the trainer holds them); unsent outbox rows go only when nothing else is left,
    /// counted and said loudly.
    private func enforceSizeBound() throws(SQLiteError) {
        bytesSinceSizeCheck = 0
        guard try store.database.usedBytes() > store.mainLimit / 20 * 19 else { return }
        let target = store.mainLimit / 20 * 17
        let dropped = try store.shrink(to: target)
        counters.droppedRows += dropped
        if dropped > 0 {
            logger.log(.warning, "database near max_database_size: deleted the oldest raw readings", limit: &sizeLimit,
                       metadata: ["rows": "\(dropped)"])
        }
        guard try store.database.usedBytes() > target else { return }
        // Windows and predictions in no outbox row: with upload on, the trainer holds them; with
        // it off, they are this database's history alone, and the disk bound still holds.
        let derived = try store.shrinkSent(to: target)
        if upload {
            counters.droppedSentRows += derived
        } else {
            counters.droppedHistoryRows += derived
        }
        if derived > 0 {
            logger.log(.warning, upload ? "database full without raw readings: deleted the oldest rows the trainer already holds"
                                        : "database full without raw readings: deleted the oldest feature windows and predictions (upload is off: they were kept nowhere else)",
                       limit: &sizeLimit, metadata: ["rows": "\(derived)"])
        }
        guard upload else { return }
        guard try store.database.usedBytes() > target else { return }
        let unsent = try store.shrinkOutbox(to: target)
        counters.droppedOutboxRows += unsent
        if unsent > 0 {
            logger.log(.error, "DATA LOSS: the database holds only rows not yet uploaded (is the uplink down?): deleted the oldest of them; raise max_database_size or restore the uplink",
                       limit: &dataLossLimit, metadata: ["rows": "\(unsent)"])
        }
    }

    /// After a rollback: forgets the abandoned transaction's counters, feature rows and the
    /// feature and scoring state they fed, and reloads device state from what is committed, so
    /// memory and disk agree again. Feature windows restart empty: a window that straddles the
    /// failure is lost rather than stored with readings that are not.
    private func forget() {
        counters = IngestCounters()
        forgetObserved()
        uncommittedMessages = 0
        uncommittedBytes = 0
        emitted.removeAll()
        scoring.forgetHistory()
        do {
            try loadDevices()
            try warmUpAll()
            metrics.setSensorFaults(sensorFaultCounts)
            metrics.setSparkplugDevices(sparkplugStates)
        } catch {
            logger.error("cannot reload device state after a rollback", metadata: ["reason": "\(error)"])
        }
    }

    private func forgetObserved() {
        observed.published.removeAll(keepingCapacity: true)
        observed.predictions.removeAll(keepingCapacity: true)
        observed.missingChange = 0
    }
}
