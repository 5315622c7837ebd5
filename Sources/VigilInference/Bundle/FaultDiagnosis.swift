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

    public init(modes: [String], signatures: [[Double]]) {
        self.modes = modes
        self.signatures = signatures
    }

    /// The mode whose signature the window's departure from healthy (`score.departure`) lies
    /// furthest along.
    public func mode(_ inputs: [Double], score: AnomalyScore) -> String? {
        let departure = score.departure(inputs)
        var best: (mode: String, along: Double)?
        for (mode, signature) in zip(modes, signatures) {
            var along = 0.0
            for index in signature.indices { along += signature[index] * departure[index] }
            if best == nil || along > best!.along { best = (mode, along) }
        }
        return best?.mode
    }
}
