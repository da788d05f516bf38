"""Presets: each `fast_*` preset against the published preset it speeds up, seeds 1, 2, 3, ...

Both sides are whole `addexp experiment=<preset> seed=N` runs into one temporary store, in turn
(published, fast, published, fast, ...). Measured per run: training time (`train/seconds`),
test exact match and overlap, and for the `fixed` regime the held-out validation exact match of
every epoch (its last 3 and the first epoch at or above 0.99).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from addexp.benchmarks.measure import Stat, alternate, console_script, run_process
from addexp.benchmarks.report import Section, Table
from addexp.benchmarks.settings import Settings

PAIRS = (("tutorial_seq2seq", "fast_tutorial"), ("keras_addition_rnn", "fast_addition_rnn"))
PRESETS = tuple(preset for pair in PAIRS for preset in pair)  # overrides are checked with each
TARGET = 0.99  # exact match a fast preset is tuned to reach
TIME_RATIO = 0.2  # ... in at most this share of the published preset's training time
TINY = ["train.epochs=2", "train.examples=300", "eval.examples=100"]


def _run(preset: str, seed: int, folder: Path, uri: str, extra: list[str]) -> dict[str, float]:
    """One run; its training seconds, test metrics and validation history summary."""
    from mlflow.tracking import MlflowClient

    name = f"{preset}-seed{seed}"
    command = [
        *console_script("addexp"),
        f"experiment={preset}",
        f"seed={seed}",
        f"tracking.uri={uri}",
        f"tracking.run_name={name}",
        "tracking.log_model=false",
        "eval.show=0",
        *extra,
    ]
    run_process(command, folder)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("addexp").experiment_id
    (run,) = client.search_runs([experiment], f"attributes.run_name = '{name}'")
    metrics = run.data.metrics
    history = sorted(client.get_metric_history(run.info.run_id, "val/exact_match"), key=_step)
    values = [m.value for m in history]
    first = next((i + 1 for i, v in enumerate(values) if v >= TARGET), math.nan)
    return {
        "train": metrics["train/seconds"],
        "exact": metrics["test/exact_match"],
        "overlap": metrics["test/train_overlap"],
        "epochs": metrics["train/epochs_trained"],
        "val_last3_min": min(values[-3:]) if values else math.nan,
        "val_last": values[-1] if values else math.nan,
        "first_99": first,
    }


def _reached(published: dict[str, Stat], fast: dict[str, Stat]) -> str:
    """What both sides reached: held-out exact match where there is a validation set, else
    test exact match with its overlap."""
    test = (
        f"test exact match {fast['exact'].text('.3f')} against {published['exact'].text('.3f')} "
        f"(test/train overlap {fast['overlap'].median:.2f}"
    )
    if not math.isnan(fast["val_last"].median):
        return (
            f"held-out exact match after the last epoch {fast['val_last'].text('.3f')} against "
            f"{published['val_last'].text('.3f')}, and at least "
            f"{fast['val_last3_min'].low:.3f} in each of the last 3 epochs of every seed; "
            f"{test}, a set drawn from the question distribution, not held out, which holds "
            "far more of the short questions, two 1-digit operands, than a distinct training "
            "set can)"
        )
    return f"{test}: this measures fitting)"


def verdict(ratio: float, fast: dict[str, Stat]) -> str:
    """The fast preset against the targets it is tuned for: at most TIME_RATIO of the published
    preset's training time, median exact match >= TARGET (held out where there is a validation
    set, else on the test set) and, with validation, each of the last 3 epochs >= TARGET on
    every seed."""
    held_out = not math.isnan(fast["val_last"].median)
    exact = fast["val_last"].median if held_out else fast["exact"].median
    checks = [
        (f"at most {TIME_RATIO:g}x the time", ratio <= TIME_RATIO),
        (f"median {'held-out' if held_out else 'test'} exact match >= {TARGET}", exact >= TARGET),
    ]
    if held_out:
        checks.append(
            (f"each of the last 3 epochs >= {TARGET}", fast["val_last3_min"].low >= TARGET)
        )
    return "targets: " + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in checks)


def _step(metric) -> int:
    """The epoch of a logged metric value (its step)."""
    return metric.step


def _cell(stat: Stat, spec: str) -> str:
    """`stat` as text, '-' when no run measured it (all NaN)."""
    return "-" if all(math.isnan(v) for v in stat.values) else stat.text(spec)


def _first_cell(first: Stat, val_last: Stat) -> str:
    """The first epoch at or above TARGET held out, over the seeds that reached it (a seed
    that never did is counted, not averaged in as a number)."""
    if all(math.isnan(v) for v in val_last.values):
        return "-"
    reached = tuple(v for v in first.values if not math.isnan(v))
    if not reached:
        return f"never ({len(first.values)} seeds)"
    text = Stat(reached).text(".0f")
    missed = len(first.values) - len(reached)
    return text if not missed else f"{text}; {missed} of {len(first.values)} seeds never"


@dataclass(frozen=True)
class Pair:
    """A published preset and its fast preset, each with a Stat per measurement of `_run`
    (seconds, exact matches, overlap, epochs, validation summary)."""

    published: str
    fast: str
    published_runs: dict[str, Stat]
    fast_runs: dict[str, Stat]

    @property
    def ratio(self) -> float:
        """The fast preset's training time over the published one's (medians)."""
        return self.fast_runs["train"].median / self.published_runs["train"].median


@dataclass(frozen=True)
class Presets:
    """The section's measurements: repeats (seeds 1..repeats), the extra overrides, and
    every pair in PAIRS order."""

    repeats: int
    extra: tuple[str, ...]
    pairs: tuple[Pair, ...]


def measure(settings: Settings) -> Presets:
    """Every pair, its two presets in turn, seed N = 1..repeats, into one temporary store."""
    folder = settings.folder("presets")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    extra = [*settings.size([], TINY), *settings.extra("presets")]
    pairs = []
    for published, fast in PAIRS:
        sides = {
            preset: (lambda repeat, p=preset: _run(p, repeat + 1, folder, uri, extra))
            for preset in (published, fast)
        }
        result = alternate(sides, settings.repeats)
        pairs.append(Pair(published, fast, result[published], result[fast]))
    return Presets(settings.repeats, tuple(extra), tuple(pairs))


def _table(pair: Pair) -> Table:
    """Both presets of a pair: training time, epochs, test and held-out exact match."""
    rows = [
        [
            f"`{preset}`",
            s["train"].text(".1f"),
            s["epochs"].text(".0f"),
            s["exact"].text(".3f"),
            s["overlap"].text(".2f"),
            _cell(s["val_last"], ".3f"),
            _cell(s["val_last3_min"], ".3f"),
            _first_cell(s["first_99"], s["val_last"]),
        ]
        for preset, s in ((pair.published, pair.published_runs), (pair.fast, pair.fast_runs))
    ]
    header = [
        "preset",
        "training s",
        "epochs",
        "test exact match",
        "test/train overlap",
        "held-out exact, last epoch",
        "held-out exact, lowest of last 3",
        "first epoch >= 0.99 held out",
    ]
    return Table(header, rows)


def _sentence(pair: Pair) -> str:
    """What a pair's numbers say: the time ratio, what both reached, the targets' verdict."""
    a, b = pair.published_runs, pair.fast_runs
    return (
        f"`{pair.fast}` trains in {pair.ratio:.2f}x the time of `{pair.published}` (medians, "
        f"{b['train'].median:.1f} s against {a['train'].median:.1f} s); {_reached(a, b)}; "
        f"{verdict(pair.ratio, b)}."
    )


def _method(p: Presets) -> str:
    """The section's method paragraph (Markdown)."""
    return (
        f"Each pair runs in turn, seed N = 1..{p.repeats} for both, whole "
        "`addexp experiment=<preset> seed=N` runs into one temporary store (model logging off; "
        f"extra overrides: {' '.join(p.extra) or 'none'}). Training s is `train/seconds`, the fit "
        "loop with its data. Test exact match is on the run's own fresh test set; its overlap "
        "with the training questions is reported beside it (the tutorial's space holds 100 "
        "questions, so every test question was trained on). Held-out exact match is the "
        "validation set of the `fixed` regime, questions never trained on, decoded every epoch."
    )


def report(p: Presets) -> Section:
    """The section: its method, a table per pair, and a sentence per pair of what it means."""
    return Section(
        "presets",
        "Presets: time to 99% exact match",
        _method(p),
        [_table(pair) for pair in p.pairs],
        " ".join(_sentence(pair) for pair in p.pairs),
    )


def run(settings: Settings) -> Section:
    """The presets section: whole addexp runs of every pair of presets."""
    return report(measure(settings))
