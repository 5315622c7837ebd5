/// VigilTrainer is the central side: upstream ingest, datasets from maintenance events,
/// training, quantization, evaluation, signing and rollout. It arrives with its issue; this
/// target holds its place in the pipeline.
public enum VigilTrainer {}
