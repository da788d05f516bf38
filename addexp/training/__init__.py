"""Training: the pipeline a config builds (spaces, family, framing), the training data
batch by batch, fitting, checkpoints, how a run stops early (faults) and progress.

It may import `addexp.evaluation` and the packages below it."""
