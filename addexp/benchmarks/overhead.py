"""Overhead: `addexp experiment=tutorial_seq2seq` against the plain Keras reference script.

Both are whole processes, run in turn with the same seed per repeat: wall time from start to
exit, the training loop's own time (addexp's `train/seconds`, the reference's `train_seconds`:
30 fits of a fresh draw, data generation included in both) and test exact match.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from addexp.benchmarks.measure import alternate, console_script, latest_run, run_process
from addexp.benchmarks.report import Section, Table
from addexp.benchmarks.settings import Settings

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


def run(settings: Settings) -> Section:
    folder = settings.folder("overhead")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    extra = [*(f"{k}={v}" for k, v in settings.size({}, TINY).items()), *settings.extra("overhead")]
    mirrored = _settings_of(extra)
    script = reference_script()

    def reference(repeat: int) -> dict[str, float]:
        flags = [a for key, value in mirrored.items() for a in (MIRRORED[key], value)]
        command = [sys.executable, str(script), "--seed", str(repeat + 1), *flags]
        finished = run_process(command, folder)
        result = json.loads(finished.stdout.strip().splitlines()[-1])
        return {
            "process": finished.seconds,
            "train": result["train_seconds"],
            "exact": result["exact_match"],
        }

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

    result = alternate({"reference": reference, "addexp": addexp}, settings.repeats)
    ref, ours = result["reference"], result["addexp"]
    rows = []
    for key, label, spec in (
        ("process", "whole process, s (start to exit)", ".1f"),
        ("train", "training loop, s", ".1f"),
        ("exact", "test exact match", ".3f"),
    ):
        ratio = ours[key].median / ref[key].median if ref[key].median else float("nan")
        rows.append([label, ref[key].text(spec), ours[key].text(spec), f"{ratio:.2f}"])
    outside_ref = ref["process"].median - ref["train"].median
    outside_ours = ours["process"].median - ours["train"].median
    rows.append(
        [
            "outside training, s (process - training, medians)",
            f"{outside_ref:.1f}",
            f"{outside_ours:.1f}",
            f"{outside_ours / outside_ref:.2f}",
        ]
    )
    table = Table(["", "plain Keras reference", "addexp", "addexp / reference (medians)"], rows)
    shown = " ".join(extra) or "none"
    method = (
        "`addexp experiment=tutorial_seq2seq seed=N` (extra overrides: "
        f"{shown}; a temporary SQLite store) against "
        "`python scripts/reference_tutorial_seq2seq.py --seed N`, the same problem, model and "
        "training loop in plain Keras with no tracking (`train.epochs` and `train.examples`, "
        "when overridden, are given to it too). They run in turn, seed N = 1, 2, 3, ... for "
        "both. Whole process: wall time from start to exit. Training loop: addexp's "
        "`train/seconds` and the reference's `train_seconds`, each the one-epoch fits (30 unless "
        "overridden) with their data generation. Exact match: both on 1,000 fresh test problems."
    )
    a, b = ours["exact"], ref["exact"]
    agree = (
        "the ranges over seeds overlap: the same result, tracked"
        if max(a.low, b.low) <= min(a.high, b.high)
        else "the ranges over seeds do not overlap: look at the runs before trusting either"
    )
    train_ratio = ours["train"].median / ref["train"].median
    meaning = (
        f"addexp's training loop takes {train_ratio:.2f}x the reference's "
        f"({ours['train'].median:.1f} s against {ref['train'].median:.1f} s). The reference "
        "calls `model.fit` once per epoch on arrays it draws whole; addexp makes one `fit` over "
        "all epochs fed by a tf.data stream of chunks drawn in the background, and at the end "
        "of every epoch Keras's callbacks run (learning rate, TerminateOnNaN, the check for a "
        "waiting signal) and addexp writes the checkpoint, sends the metrics to MLflow and "
        "prints the progress line. Outside training addexp spends "
        f"{outside_ours:.1f} s to the reference's {outside_ref:.1f} s: composing and checking "
        "the config, opening the store, logging params, datasets, plots, predictions and the "
        "model, and evaluating with breakdowns; the tracking section shows how much of that is "
        f"MLflow. Exact match: {ours['exact'].median:.3f} against {ref['exact'].median:.3f}, "
        f"{agree}."
    )
    return Section(
        "overhead", "Overhead: addexp against the plain Keras script", method, [table], meaning
    )
