"""Tracking: the share of a run's time spent in MLflow calls.

`addexp` (the default experiment, the tutorial) runs in a child process under
`addexp.benchmarks.mlflow_share`, which samples the main thread's stack and books time inside
the `mlflow` package apart from the rest (its docstring gives the method and why it was chosen).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass

from addexp.benchmarks.measure import Stat, alternate, console_script, latest_run, run_process
from addexp.benchmarks.report import Section, Table
from addexp.benchmarks.settings import Settings

PRESETS = ("tutorial_seq2seq",)  # the default experiment, which this section runs

TINY = ["train.epochs=2", "train.examples=200", "eval.examples=50"]
TOP_ENTRIES = 8
LOGGING = ("log_metric", "log_param", "log_dict", "log_artifact", "log_batch", "log_figure")


def ranked(seconds: dict[str, float], top: int) -> list[tuple[str, float]]:
    """The `top` entries with the most seconds, most first."""
    return sorted(seconds.items(), key=lambda kv: -kv[1])[:top]


@dataclass(frozen=True)
class Tracking:
    """The section's measurements: the run's overrides; per sampled run its whole-process,
    training-loop, in-MLflow-calls, MLflow-import and other-thread MLflow seconds and epochs
    trained; the whole-process seconds of the same run unsampled; and per MLflow function
    entered from addexp the median over repeats of its seconds (0 for a run that did not)."""

    overrides: tuple[str, ...]
    process: Stat
    unsampled: Stat
    train: Stat
    epochs: Stat
    calls: Stat
    imported: Stat
    background: Stat
    entries: dict[str, float]

    def share(self, stat: Stat) -> str:
        """`stat` as a share of the whole process, run by run: 'median% (min-max)'."""
        values = tuple(v / p for v, p in zip(stat.values, self.process.values, strict=True))
        s = Stat(values)
        return f"{100 * s.median:.1f}% ({100 * s.low:.1f}-{100 * s.high:.1f})"


def measure(settings: Settings) -> Tracking:
    """Sampled runs alternating with the same runs unsampled, into one temporary store."""
    folder = settings.folder("tracking")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    entries: dict[str, list[float]] = defaultdict(list)
    overrides = [
        f"tracking.uri={uri}",
        "eval.show=0",
        *settings.size([], TINY),
        *settings.extra("tracking"),
    ]

    def plain(_: int) -> dict[str, float]:
        """The same run without the sampler: what sampling itself costs."""
        return {"process": run_process([*console_script("addexp"), *overrides], folder).seconds}

    def once(repeat: int) -> dict[str, float]:
        out = folder / f"share-{repeat}.json"
        command = [sys.executable, "-m", "addexp.benchmarks.mlflow_share", str(out), *overrides]
        finished = run_process(command, folder)
        share = json.loads(out.read_text())
        for name, seconds in share["entries"].items():
            entries[name].append(seconds)
        run = latest_run(uri)
        main = share["main"]
        return {
            "process": finished.seconds,
            "train": run.data.metrics["train/seconds"],
            "epochs": run.data.metrics["train/epochs_trained"],
            "calls": main.get("mlflow calls", 0.0),
            "import": main.get("mlflow import", 0.0),
            "background": share["background"],
        }

    both = alternate({"run": once, "plain": plain}, settings.repeats)
    result, n = both["run"], settings.repeats
    medians = {  # a function a run did not enter counts 0 for it
        name: statistics.median([*values, *[0.0] * (n - len(values))])
        for name, values in entries.items()
    }
    return Tracking(
        overrides=tuple(overrides),
        process=result["process"],
        unsampled=both["plain"]["process"],
        train=result["train"],
        epochs=result["epochs"],
        calls=result["calls"],
        imported=result["import"],
        background=result["background"],
        entries=medians,
    )


def _tables(t: Tracking) -> list[Table]:
    """The time table (seconds and shares of the process) and the MLflow functions entered."""
    table = Table(
        ["", "seconds", "share of the process"],
        [
            ["whole process (start to exit)", t.process.text(".1f"), "100%"],
            ["the same run without the sampler", t.unsampled.text(".1f"), "-"],
            ["training loop (`train/seconds`)", t.train.text(".1f"), t.share(t.train)],
            ["in MLflow calls (main thread)", t.calls.text(".2f"), t.share(t.calls)],
            ["importing MLflow (main thread)", t.imported.text(".2f"), t.share(t.imported)],
            [
                "in MLflow on other threads (not holding up the run)",
                t.background.text(".2f"),
                "-",
            ],
        ],
    )
    entry_table = Table(
        ["MLflow function entered from addexp", "seconds per run (median of repeats)"],
        [[f"`{name}`", f"{seconds:.2f}"] for name, seconds in ranked(t.entries, TOP_ENTRIES)],
    )
    return [table, entry_table]


def _method(t: Tracking) -> str:
    """The section's method paragraph (Markdown)."""
    return (
        "`addexp` with the default experiment (the tutorial: "
        f"{t.epochs.median:.0f} epochs, each logging its metrics and checkpoint; extra "
        f"overrides: {' '.join(t.overrides[2:]) or 'none'}) in a child process, under `python -m "
        "addexp.benchmarks.mlflow_share`: a thread samples every Python stack each 5 ms and "
        "books the time since its last look to MLflow when any frame of the main thread is in "
        "the `mlflow` package (a call into MLflow and everything it calls: SQLAlchemy, pandas, "
        "Keras's saving for the model flavour), to importing MLflow when that frame is module "
        "code, and to the rest otherwise. Sampling rather than wrapping MLflow's functions, "
        "which misses calls made through doors the wrapper does not know (client, dataset "
        "classes, context managers), and rather than cProfile, whose tracing slows "
        "pure-Python MLflow far more than TensorFlow's kernels and so inflates MLflow's share. "
        "All repeats log to one temporary SQLite store, which the first run creates (MLflow "
        "builds its schema then, which shows in the maxima); the second table gives, for the "
        "MLflow functions addexp entered, the median over repeats of the time spent in them. "
        "Each sampled run alternates with the same run without the sampler, whose whole "
        "process time shows what sampling itself costs (a sample holds the interpreter while "
        "it walks the stacks). Time is booked to what the sampler sees when it wakes, so a "
        "stretch is placed to within about a sample, more when a call holds the interpreter "
        "for longer than a sample without releasing it."
    )


def _meaning(t: Tracking) -> str:
    """What the numbers say (Markdown): the sampler's cost, the time in MLflow and its biggest
    items."""
    calls, whole, unsampled = t.calls.median, t.process.median, t.unsampled.median
    biggest = ", ".join(f"`{name}` {seconds:.2f} s" for name, seconds in ranked(t.entries, 3))
    logging = sum(s for name, s in t.entries.items() if any(w in name for w in LOGGING))
    cost = whole - unsampled
    sampling = (
        f"Sampling made the run {cost:.1f} s longer"
        if cost >= 0.05
        else "Sampling did not make the run measurably longer"
    )
    return (
        f"{sampling} ({whole:.1f} s with it against {unsampled:.1f} s without, medians). "
        f"A run of the tutorial spends {calls:.1f} s of its {whole:.1f} s in MLflow calls "
        f"({100 * calls / whole:.0f}%, median) and {t.imported.median:.1f} s importing "
        f"MLflow. The biggest items: {biggest}. Logging metrics, params, dicts and artifacts "
        f"(every epoch's metrics and checkpoint, the plots and predictions at the end) takes "
        f"{logging:.2f} s in all; the rest is opening the store and the run and the model in "
        "MLflow's Keras flavour, once per run whatever its length. Checkpoints can be logged "
        "less often with `train.checkpoint_every`."
    )


def report(t: Tracking) -> Section:
    """The section: its method, the time and MLflow-function tables, and what they mean."""
    title = "Tracking: time in MLflow per run"
    return Section("tracking", title, _method(t), _tables(t), _meaning(t))


def run(settings: Settings) -> Section:
    """The tracking section: sampled and unsampled runs of addexp in child processes."""
    return report(measure(settings))
