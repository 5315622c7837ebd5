/// What can go wrong with a device's sensors or firmware rather than its machine, so the agent
/// sees what real fleets send.
public enum SensorFault: String, Sendable, CaseIterable {
    /// The first value sensor freezes at one reading for the rest of the run.
    case stuck
    /// One reading in fifty is a spike of five times the value.
    case spikes
    /// 2% of messages are lost on the way: sequence gaps.
    case dropouts
    /// The first value sensor drifts upward by 2% of its value per simulated day.
    case drift
    /// The device clock runs 90 s ahead and gains 1 s per simulated hour.
    case clockSkew = "clock_skew"
}
