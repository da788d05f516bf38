"""The commands: `addexp` (train), `addexp-predict`, `addexp-eval`, `addexp-compare` and
`addexp-runs`, one module each.

It may import `addexp.sweeps` and every package below it."""
