/// VigilInference runs int8-quantized models on feature vectors and reads the signed model
/// bundles the trainer writes. The runtime arrives with its issue; this target holds its place
/// in the pipeline so that the agent and the trainer already depend on it.
public enum VigilInference {}
