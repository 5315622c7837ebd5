/// VigilFeatures turns sensor streams into feature windows: count and event-time windows,
/// statistics and spectra, computed the same way at the edge and in the trainer. Pure
/// computation, no I/O. The engine arrives with its issue; this target holds its place in the
/// pipeline so that the agent and the trainer already depend on it.
public enum VigilFeatures {}
