"""Overhead: `addexp experiment=tutorial_seq2seq` against the plain Keras reference script.

All are whole processes, run in turn with the same seed per repeat: wall time from start to
exit, the training loop's own time (addexp's `train/seconds`, the reference's `train_seconds`:
30 fits of a fresh draw, data generation included in both) and test exact match. The reference
runs twice: as the tutorial wrote it (Keras's defaults), and with the execution addexp chooses
for the same config (unrolled LSTMs, several batches per call of the compiled step), so that
what the runner costs shows apart from what its execution saves.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from addexp.benchmarks.measure import Stat, alternate, console_script, latest_run, run_process
from addexp.benchmarks.report import Section, Table
from addexp.benchmarks.settings import Settings

PRESETS = ("tutorial_seq2seq",)  # the presets this section runs (overrides are checked with each)
TARGET = 1.1  # whole-process time against the plain script that addexp aims to stay within

TINY = {"train.epochs": "2", "train.examples": "200"}
MIRRORED = {"train.epochs": "--epochs", "train.examples": "--examples"}  # addexp key -> reference


def reference_script() -> Path:
    """scripts/reference_tutorial_seq2seq.py of the source tree. Raises FileNotFoundError when
    addexp is not run from a source tree (an installed wheel has no scripts/)."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "reference_tutorial_seq2seq.py"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the overhead section needs addexp's source tree")
    return path


def _settings_of(overrides: list[str]) -> dict[str, str]:
    """The addexp keys the reference script also takes (epochs, examples), last one wins."""
    found = {}
    for override in overrides:
        key, _, value = override.partition("=")
        if key in MIRRORED:
            found[key] = value
    return found


def addexp_execution(overrides: list[str]) -> list[str]:
    """The reference script's flags for the execution `addexp experiment=tutorial_seq2seq
    OVERRIDES` uses: `--unroll` when addexp unrolls the encoder, and its steps per execution."""
    from addexp.benchmarks.setup import compose
    from addexp.models.unrolling import unrolled
    from addexp.training.fit import steps_per_execution
    from addexp.training.pipeline import build_pipeline

    cfg = compose(["experiment=tutorial_seq2seq", *overrides])
    steps = build_pipeline(cfg).framing.shapes.input_shape[0]
    unroll = ["--unroll"] if unrolled(steps, cfg.model.unroll_max_steps) else []
    return [*unroll, "--steps-per-execution", str(steps_per_execution(cfg.train))]


@dataclass(frozen=True)
class Side:
    """One side's repeats: whole-process seconds (start to exit), training-loop seconds and
    test exact match."""

    process: Stat
    train: Stat
    exact: Stat

    @property
    def outside(self) -> float:
        """Seconds outside training: the medians of process minus training."""
        return self.process.median - self.train.median


@dataclass(frozen=True)
class Overhead:
    """The section's measurements: the extra addexp overrides, the reference script's flags
    for addexp's execution, and the three sides (the reference as the tutorial wrote it,
    addexp, the reference with addexp's execution)."""

    extra: tuple[str, ...]
    execution: tuple[str, ...]
    reference: Side
    addexp: Side
    same: Side


def _reference(
    script: Path, folder: Path, mirrored: dict[str, str], execution: tuple[str, ...]
) -> Callable[[int], dict[str, float]]:
    """A side running the reference script with `execution`'s flags: its process seconds,
    training seconds and exact match for a repeat."""

    def reference(repeat: int) -> dict[str, float]:
        flags = [a for key, value in mirrored.items() for a in (MIRRORED[key], value)]
        command = [sys.executable, str(script), "--seed", str(repeat + 1), *flags, *execution]
        finished = run_process(command, folder)
        result = json.loads(finished.stdout.strip().splitlines()[-1])
        return {
            "process": finished.seconds,
            "train": result["train_seconds"],
            "exact": result["exact_match"],
        }

    return reference


def _addexp(folder: Path, uri: str, extra: list[str]) -> Callable[[int], dict[str, float]]:
    """A side running `addexp experiment=tutorial_seq2seq`: its process seconds, training
    seconds and test exact match for a repeat."""

    def addexp(repeat: int) -> dict[str, float]:
        command = [
            *console_script("addexp"),
            "experiment=tutorial_seq2seq",
            f"seed={repeat + 1}",
            f"tracking.uri={uri}",
            "eval.show=0",
            *extra,
        ]
        finished = run_process(command, folder)
        metrics = latest_run(uri).data.metrics
        return {
            "process": finished.seconds,
            "train": metrics["train/seconds"],
            "exact": metrics["test/exact_match"],
        }

    return addexp


def measure(settings: Settings) -> Overhead:
    """The three sides in turn, seed N = 1, 2, 3, ... for all."""
    folder = settings.folder("overhead")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    extra = [*(f"{k}={v}" for k, v in settings.size({}, TINY).items()), *settings.extra("overhead")]
    mirrored = _settings_of(extra)
    script = reference_script()
    execution = tuple(addexp_execution(extra))
    sides = {
        "reference": _reference(script, folder, mirrored, ()),
        "addexp": _addexp(folder, uri, extra),
        "same": _reference(script, folder, mirrored, execution),
    }
    result = {
        name: Side(stat["process"], stat["train"], stat["exact"])
        for name, stat in alternate(sides, settings.repeats).items()
    }
    return Overhead(tuple(extra), execution, **result)


def _ratio(a: float, b: float) -> str:
    """a / b to two decimals, '-' when b is 0."""
    return f"{a / b:.2f}" if b else "-"


def _table(o: Overhead) -> Table:
    """Per quantity, the three sides and the ratios of addexp to both references (medians)."""
    rows = []
    for key, label, spec in (
        ("process", "whole process, s (start to exit)", ".1f"),
        ("train", "training loop, s", ".1f"),
        ("exact", "test exact match", ".3f"),
    ):
        ref, ours, same = (getattr(side, key) for side in (o.reference, o.addexp, o.same))
        rows.append(
            [label, ref.text(spec), ours.text(spec), same.text(spec),
             _ratio(ours.median, ref.median), _ratio(ours.median, same.median)]
        )  # fmt: skip
    outside = [o.reference.outside, o.addexp.outside, o.same.outside]
    rows.append(
        [
            "outside training, s (process - training, medians)",
            *(f"{seconds:.1f}" for seconds in outside),
            _ratio(o.addexp.outside, o.reference.outside),
            _ratio(o.addexp.outside, o.same.outside),
        ]
    )
    header = [
        "",
        "plain Keras reference",
        "addexp",
        f"reference with `{' '.join(o.execution)}`",
        "addexp / reference",
        "addexp / reference with addexp's execution",
    ]
    return Table(header, rows)


def _method(o: Overhead) -> str:
    """The section's method paragraph (Markdown)."""
    flags = " ".join(o.execution)
    return (
        "`addexp experiment=tutorial_seq2seq seed=N` (extra overrides: "
        f"{' '.join(o.extra) or 'none'}; a temporary SQLite store) against "
        "`python scripts/reference_tutorial_seq2seq.py --seed N`, the same problem, model and "
        "training loop in plain Keras with no tracking (`train.epochs` and `train.examples`, "
        "when overridden, are given to it too), and against the same script run with the "
        f"execution addexp chose for this config (`{flags}`: "
        "`model.unroll_max_steps` unrolls LSTMs over short sequences, `train.steps_per_execution` "
        "runs several batches per call of the compiled step; the same arithmetic). They run in "
        "turn, seed N = 1, 2, 3, ... for all three. Whole process: wall time from start to exit. "
        "Training loop: addexp's `train/seconds` (its one `fit` over all epochs) and the "
        "reference's `train_seconds` (its one-epoch fits), 30 epochs unless overridden, each "
        "with its data generation. Exact match: all on "
        "1,000 fresh test problems. Ratios are of medians."
    )


def _meaning(overhead: Overhead) -> str:
    """What the numbers say (Markdown): addexp's time against both references, what is spent
    outside training, and whether the exact matches agree."""
    ours, ref, same = overhead.addexp, overhead.reference, overhead.same
    a, b = ours.exact, ref.exact
    agree = (
        "the ranges over seeds overlap: the same result, tracked"
        if max(a.low, b.low) <= min(a.high, b.high)
        else "the ranges over seeds do not overlap; the sides draw their training problems from "
        "different random streams, so seed N is another run on each side, and with this few "
        "seeds that is a difference of draws as much as of runners (more `--repeats` would "
        "tell)"
    )
    o, r, m = (x.process.median for x in (ours, ref, same))
    flags = " ".join(overhead.execution)
    return (
        f"A whole `addexp experiment=tutorial_seq2seq` takes {o / r:.2f}x the plain script as "
        f"the tutorial wrote it ({o:.1f} s against {r:.1f} s; target at most {TARGET:g}x: "
        f"{'met' if o / r <= TARGET else 'NOT met'}). Its training loop takes "
        f"{ours.train.median / ref.train.median:.2f}x the script's "
        f"({ours.train.median:.1f} s against {ref.train.median:.1f} s): addexp runs the "
        f"same model and updates with another execution (`{flags}`). Run that way, the plain "
        f"script trains in {same.train.median:.1f} s and its whole process takes {m:.1f} s, "
        f"so what the runner itself costs is the rest: {o / m:.2f}x that script. The reference "
        "calls `model.fit` once per epoch on arrays it draws whole; addexp makes one `fit` over "
        "all epochs fed by a tf.data stream of chunks drawn in the background, and at the end "
        "of every epoch Keras's callbacks run (learning rate, TerminateOnNaN, the check for a "
        "waiting signal) and addexp writes the checkpoint, sends the metrics to MLflow and "
        f"prints the progress line. Outside training addexp spends {ours.outside:.1f} s to "
        f"the script's {ref.outside:.1f} s: composing and checking the config, opening "
        "the store, logging params, datasets, plots, predictions and the model, and evaluating "
        "with breakdowns; the tracking section shows how much of that is MLflow. Exact match: "
        f"{ours.exact.median:.3f} against {ref.exact.median:.3f}, {agree}."
    )


def report(o: Overhead) -> Section:
    """The section: its method, the table of the three sides, and what it means."""
    title = "Overhead: addexp against the plain Keras script"
    return Section("overhead", title, _method(o), [_table(o)], _meaning(o))


def run(settings: Settings) -> Section:
    """The overhead section: whole processes of addexp and the reference script."""
    return report(measure(settings))
