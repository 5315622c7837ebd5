/// When a model's windows make an alarm: the probability of trouble must reach `threshold` on
/// `consecutive` windows in a row to raise it, and stay below for as many to clear it. The trainer
/// chooses both on validation data and ships them in the bundle; the agent and the trainer's
/// evaluation apply them with this one piece of code.
public struct AlarmPolicy: Sendable, Equatable {
    public var threshold: Double
    public var consecutive: Int

    /// What bundles without a policy get: every window at 0.5 or more alarms on its own.
    public static let single = AlarmPolicy(threshold: 0.5, consecutive: 1)

    public init(threshold: Double, consecutive: Int) {
        self.threshold = threshold
        self.consecutive = consecutive
    }

    /// One device's alarm under the policy, window after window.
    public struct State: Sendable, Equatable {
        public private(set) var on = false
        private var run = 0

        public init() {}

        /// Takes the next window's probability of trouble; returns whether the alarm is on.
        public mutating func next(_ trouble: Double, policy: AlarmPolicy) -> Bool {
            // `run` counts windows in a row that disagree with the current state.
            run = (trouble >= policy.threshold) != on ? run + 1 : 0
            if run >= policy.consecutive {
                on.toggle()
                run = 0
            }
            return on
        }
    }
}
