"""`addexp-bench`, the benchmarks of docs/benchmarks.md: the command (`command`: parser, sitting,
partial report), one module per section (`overhead`, `presets`, `data`, `tutorial_data`,
`throughput`, `flops`, `inference`, `mlflow_time`, `mlflow_share`, `memory`), each measuring
first and then writing its Markdown, and the shared pieces (`measure`, `report`, `settings`,
`setup`).

It stands above everything it times and may import every package of addexp; nothing imports
it."""
