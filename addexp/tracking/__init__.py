"""Tracking: the MLflow store and its checks, the datasets and results a run logs, a
finished run read back, resuming, liveness of RUNNING runs, and the runner that trains and
evaluates one tracked run.

It may import `addexp.training` and the packages below it."""
