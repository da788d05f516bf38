"""Run `addexp` in this process while a sampler measures the time spent inside MLflow.

    python -m addexp.benchmarks.mlflow_share OUT.json [addexp overrides ...]

A background thread wakes every SAMPLE_SECONDS, looks at every thread's Python stack
(`sys._current_frames`) and books the time since its last look to what the main thread is doing:
inside MLflow (any frame in the `mlflow` package: a call into MLflow, with whatever it calls,
SQLAlchemy, pandas, Keras's model saving for `mlflow.keras.log_model`), importing MLflow, or
anything else. Time in MLflow on other threads (heartbeats, asynchronous logging) is booked
apart: it does not hold up the run, though it shares the cores. Sampling instead of wrapping
MLflow's functions, because a run reaches MLflow through many doors (fluent API, client, dataset
classes, model flavours, context managers) and a wrapper misses the ones it does not know; and
instead of cProfile, because tracing every Python call would slow MLflow's pure-Python code far
more than TensorFlow's kernels and inflate MLflow's share. Time is booked to what the sampler
sees on waking, so a stretch of MLflow work is placed to within about one sample (5 ms), more
when a call holds the interpreter for longer than a sample without releasing it; the tracking
section alternates with unsampled runs to show the sampler's own cost. The result (seconds)
goes to OUT.json.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path

SAMPLE_SECONDS = 0.005


def _mlflow_dir() -> str:
    import importlib.util

    spec = importlib.util.find_spec("mlflow")
    return str(Path(spec.origin).parent) + "/"


class Sampler(threading.Thread):
    """Books wall time to what the main thread is doing, every SAMPLE_SECONDS (see above)."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="mlflow-share-sampler")
        self.prefix = _mlflow_dir()
        self.main = threading.main_thread().ident
        self.booked: Counter[str] = Counter()  # main thread: mlflow calls, import, other
        self.entries: Counter[str] = Counter()  # main thread: MLflow function first entered
        self.background = 0.0
        self.stop = threading.Event()

    def _entry(self, frame) -> str | None:
        """The outermost MLflow frame of a stack as 'module.function', or None."""
        entry = None
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(self.prefix):
                module = filename[len(self.prefix) - len("mlflow/") : -len(".py")]
                entry = f"{module.replace('/', '.')}.{frame.f_code.co_name}"
            frame = frame.f_back
        return entry

    def run(self) -> None:
        last = time.perf_counter()
        me = threading.get_ident()
        while not self.stop.wait(SAMPLE_SECONDS):
            now = time.perf_counter()
            elapsed, last = now - last, now
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                entry = self._entry(frame)
                if ident != self.main:
                    self.background += elapsed if entry else 0.0
                elif entry is None:
                    self.booked["other"] += elapsed
                elif entry.endswith(".<module>"):
                    self.booked["mlflow import"] += elapsed
                else:
                    self.booked["mlflow calls"] += elapsed
                    self.entries[entry] += elapsed


def main() -> None:
    out = Path(sys.argv[1])
    sampler = Sampler()
    sampler.start()
    start = time.perf_counter()
    sys.argv = ["addexp", *sys.argv[2:]]
    try:
        from addexp.cli.train import cli

        cli()
    finally:
        sampler.stop.set()
        sampler.join()
        result = {
            "seconds": time.perf_counter() - start,
            "main": dict(sampler.booked),
            "entries": dict(sampler.entries),
            "background": sampler.background,
        }
        out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
