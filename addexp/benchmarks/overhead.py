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
from pathlib import Path

from addexp.benchmarks.measure import alternate, console_script, latest_run, run_process
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


def run(settings: Settings) -> Section:
    folder = settings.folder("overhead")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    extra = [*(f"{k}={v}" for k, v in settings.size({}, TINY).items()), *settings.extra("overhead")]
    mirrored = _settings_of(extra)
    script = reference_script()

    execution = addexp_execution(extra)

    def reference(repeat: int, execution: tuple[str, ...] = ()) -> dict[str, float]:
        flags = [a for key, value in mirrored.items() for a in (MIRRORED[key], value)]
        command = [sys.executable, str(script), "--seed", str(repeat + 1), *flags, *execution]
        finished = run_process(command, folder)
        result = json.loads(finished.stdout.strip().splitlines()[-1])
        return {
            "process": finished.seconds,
            "train": result["train_seconds"],
            "exact": result["exact_match"],
        }

    def reference_as_addexp(repeat: int) -> dict[str, float]:
        return reference(repeat, tuple(execution))

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
        run = latest_run(uri)
        metrics = run.data.metrics
        return {
            "process": finished.seconds,
            "train": metrics["train/seconds"],
            "exact": metrics["test/exact_match"],
        }

    sides = {"reference": reference, "addexp": addexp, "same": reference_as_addexp}
    result = alternate(sides, settings.repeats)
    ref, ours, same = result["reference"], result["addexp"], result["same"]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "-"

    rows = []
    for key, label, spec in (
        ("process", "whole process, s (start to exit)", ".1f"),
        ("train", "training loop, s", ".1f"),
        ("exact", "test exact match", ".3f"),
    ):
        o, r, m = ours[key].median, ref[key].median, same[key].median
        rows.append(
            [label, ref[key].text(spec), ours[key].text(spec), same[key].text(spec),
             ratio(o, r), ratio(o, m)]
        )  # fmt: skip
    outside = {k: v["process"].median - v["train"].median for k, v in result.items()}
    rows.append(
        [
            "outside training, s (process - training, medians)",
            f"{outside['reference']:.1f}",
            f"{outside['addexp']:.1f}",
            f"{outside['same']:.1f}",
            ratio(outside["addexp"], outside["reference"]),
            ratio(outside["addexp"], outside["same"]),
        ]
    )
    flags = " ".join(execution)
    table = Table(
        [
            "",
            "plain Keras reference",
            "addexp",
            f"reference with `{flags}`",
            "addexp / reference",
            "addexp / reference with addexp's execution",
        ],
        rows,
    )
    shown = " ".join(extra) or "none"
    method = (
        "`addexp experiment=tutorial_seq2seq seed=N` (extra overrides: "
        f"{shown}; a temporary SQLite store) against "
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
    a, b = ours["exact"], ref["exact"]
    agree = (
        "the ranges over seeds overlap: the same result, tracked"
        if max(a.low, b.low) <= min(a.high, b.high)
        else "the ranges over seeds do not overlap; the sides draw their training problems from "
        "different random streams, so seed N is another run on each side, and with this few "
        "seeds that is a difference of draws as much as of runners (more `--repeats` would "
        "tell)"
    )
    o, r, m = (x["process"].median for x in (ours, ref, same))
    meaning = (
        f"A whole `addexp experiment=tutorial_seq2seq` takes {o / r:.2f}x the plain script as "
        f"the tutorial wrote it ({o:.1f} s against {r:.1f} s; target at most {TARGET:g}x: "
        f"{'met' if o / r <= TARGET else 'NOT met'}). Its training loop takes "
        f"{ours['train'].median / ref['train'].median:.2f}x the script's "
        f"({ours['train'].median:.1f} s against {ref['train'].median:.1f} s): addexp runs the "
        f"same model and updates with another execution (`{flags}`). Run that way, the plain "
        f"script trains in {same['train'].median:.1f} s and its whole process takes {m:.1f} s, "
        f"so what the runner itself costs is the rest: {o / m:.2f}x that script. The reference "
        "calls `model.fit` once per epoch on arrays it draws whole; addexp makes one `fit` over "
        "all epochs fed by a tf.data stream of chunks drawn in the background, and at the end "
        "of every epoch Keras's callbacks run (learning rate, TerminateOnNaN, the check for a "
        "waiting signal) and addexp writes the checkpoint, sends the metrics to MLflow and "
        f"prints the progress line. Outside training addexp spends {outside['addexp']:.1f} s to "
        f"the script's {outside['reference']:.1f} s: composing and checking the config, opening "
        "the store, logging params, datasets, plots, predictions and the model, and evaluating "
        "with breakdowns; the tracking section shows how much of that is MLflow. Exact match: "
        f"{ours['exact'].median:.3f} against {ref['exact'].median:.3f}, {agree}."
    )
    return Section(
        "overhead", "Overhead: addexp against the plain Keras script", method, [table], meaning
    )
