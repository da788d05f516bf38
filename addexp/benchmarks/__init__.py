"""The parts of `addexp-bench` (`addexp.bench`): one module per section of docs/benchmarks.md
(overhead, presets, data, throughput, inference, tracking, memory) and the shared measuring and
reporting pieces (`measure`, `report`, `setup`)."""
