import VigilCore

/// What `vigil-sim` is asked to do; every field is a command-line flag.
public struct SimulatorOptions: Sendable {
    /// The folder of device profiles.
    public var devices = "devices"
    /// Devices in the fleet, spread over the profiles that have machine physics.
    public var count = 10
    /// Only these device types, if given.
    public var types: [String] = []
    /// The broker to publish to (ignored with `dump`).
    public var broker = "mqtt://127.0.0.1:1883"
    public var clientID = "vigil-sim"
    public var seed: UInt64 = 1
    /// Seconds to run at `speedup`: the run covers `duration * speedup` seconds of machine time.
    public var duration = 60.0
    /// Machine seconds per wall-clock second: 3600 runs an hour of machine life a second. The
    /// data are the same at any speedup: devices report at their profiles' machine-time intervals.
    public var speedup = 1.0
    /// Unix time of the run's start, in device time (default: now).
    public var start: Double?
    /// Write `topic<TAB>payload` lines here instead of publishing; no waiting between messages.
    public var dump: String?
    /// Write the ground truth (every device's lives, faults) here as JSON.
    public var groundTruth: String?
    /// Publish the same machine time as fast as the broker takes it, without pacing to the wall clock.
    public var asFastAsPossible = false
    /// Share of messages replaced by malformed ones (truncated, wrong type, NaN, oversized).
    public var malformedRate = 0.0
    /// Share of devices with a sensor or firmware fault (stuck, spikes, dropouts, drift, skew).
    public var sensorFaultShare = 0.1
    /// Only these fault modes develop (empty: every mode a profile lists); a profile left with
    /// none is not simulated. A model trained without a mode can then be tested on it.
    public var modes: Set<FaultMode> = []
    /// How much machines of one type differ (`MachineVariation`): 0 identical, 1 a plant's spread.
    public var machineSpread = 1.0
    /// Every this many wall seconds, the devices' links go down for `outageSeconds`; they buffer
    /// and replay afterwards, with duplicates and some out-of-order delivery. 0: never.
    public var outageEvery = 0.0
    public var outageSeconds = 2.0
    /// Speak Sparkplug B in this group instead of the profiles' JSON: the fleet is one edge node
    /// named `clientID`, each machine a device of it.
    public var sparkplugGroup: String?
    /// Where maintenance events go: `<prefix>/<device>`.
    public var maintenanceTopicPrefix = "vigil/maintenance"

    public init() {}
}
