"""Sweeps: the Hydra callback that opens a sweep's parent run, the link passed to every
job, and the plan read from the controller's overrides.

It may import `addexp.tracking` and the packages below it."""
