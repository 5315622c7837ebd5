/// Names the fault mode of a window in trouble by the direction in which its inputs left
/// healthy, as a vibration analyst reads which defect frequency stands out: each mode's signature
/// is the mean departure of the windows before its faults, in the anomaly score's healthy
/// spreads, made unit length; a window's mode is the one whose signature its own departure lies
/// furthest along. Direction, not distance: an early window, whose inputs have moved little,
/// points the way a late one does. The trainer fits it on the windows before faults whose mode
/// the maintenance events name; the agent and `evaluate` apply it with this one piece of code.
public struct FaultDiagnosis: Sendable, Equatable {
    /// The modes, as fault events name them.
    public var modes: [String]
    /// Per mode, a unit vector over the anomaly score's inputs.
    public var signatures: [[Double]]
    /// How far, in healthy spreads, a window must lie further along its mode's signature than
    /// along the runner-up's for the mode to be named: an alarm just begun has moved a few inputs
    /// a little, and noise alone then often points to the wrong mode. 0 names the furthest always.
    public var margin: Double

    /// The margin the trainer gives, in healthy spreads (chosen on tuning fleets: see the model
    /// notes).
    public static let sureMargin = 3.0

    public init(modes: [String], signatures: [[Double]], margin: Double = 0) {
        self.modes = modes
        self.signatures = signatures
        self.margin = margin
    }

    /// The mode whose signature the window's departure from healthy (`score.departure`) lies
    /// furthest along, when it leads the runner-up by `margin` along the line between their
    /// signatures; nil when no mode leads by that much.
    public func mode(_ inputs: [Double], score: AnomalyScore) -> String? {
        let departure = score.departure(inputs)
        let along = signatures.map { signature in zip(signature, departure).reduce(0) { $0 + $1.0 * $1.1 } }
        guard let best = along.indices.max(by: { along[$0] < along[$1] }) else { return nil }
        guard margin > 0 else { return modes[best] }
        guard let second = along.indices.filter({ $0 != best }).max(by: { along[$0] < along[$1] }) else { return modes[best] }
        let apart = zip(signatures[best], signatures[second]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        return apart > 0 && (along[best] - along[second]) / apart >= margin ? modes[best] : nil
    }

    /// One device's named mode through an alarm: a mode once named holds while the alarm lasts,
    /// or until the diagnosis names another, so a window that leaves the modes close does not
    /// take the name back; outside an alarm none is named.
    public struct State: Sendable, Equatable {
        private var named: String?

        public init() {}

        /// Takes the next window's network `inputs` and whether the device is in alarm; returns
        /// the mode named.
        public mutating func next(_ inputs: [Double], diagnosis: FaultDiagnosis, score: AnomalyScore, alarm: Bool) -> String? {
            guard alarm else {
                named = nil
                return nil
            }
            if let mode = diagnosis.mode(inputs, score: score) { named = mode }
            return named
        }
    }
}
