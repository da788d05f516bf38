"""The parts of `addexp-bench` (`addexp.benchmarks.command`): one module per section of
docs/benchmarks.md
(overhead, presets, data, throughput, inference, tracking, memory) and the shared measuring and
reporting pieces (`measure`, `report`, `setup`)."""
