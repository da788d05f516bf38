"""Benchmarks of addexp against its references, written to docs/benchmarks.md: the same program
as the `addexp-bench` command (`python scripts/bench.py --help`)."""

from addexp.benchmarks.command import main

if __name__ == "__main__":
    raise SystemExit(main())
