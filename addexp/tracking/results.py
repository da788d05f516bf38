"""A run's results: its evaluation sets drawn and scored at safe points, their metrics,
predictions and breakdowns logged to a run of the store, and the figures of a finished training
(learning curves, answer plots, a family's own figures)."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from addexp.evaluation.scoring import SetResult, evaluate_set
from addexp.problems.sampling import sample
from addexp.problems.space import Problems, ProblemSpace, question_keys
from addexp.training import faults
from addexp.training.pipeline import Pipeline


def draw_sets(pipeline: Pipeline, seed: int) -> dict[str, Problems]:
    """Each evaluation set by name: a fresh draw from its own stream (independent of training,
    so drawn before it: training marks which of their questions it shows)."""
    return {s.name: sample(s.space, s.examples, s.rng(seed)) for s in pipeline.sets}


def watched_keys(drawn: list[Problems]) -> np.ndarray:
    """The question keys of sets to be scored (sorted, unique): what the overlap report asks of
    training."""
    return np.unique(np.concatenate([question_keys(p).astype(str) for p in drawn]))


def evaluate_sets(
    model,
    pipeline: Pipeline,
    drawn: dict[str, Problems],
    seen_keys: np.ndarray | None,
    on_data: Callable[[str, Problems, ProblemSpace], None] | None = None,
) -> dict[str, SetResult]:
    """Each evaluation set (`drawn` by `draw_sets`), scored like the test set;
    `on_data(name, problems, space)` sees each draw."""
    results = {}
    for s in pipeline.sets:
        problems = drawn[s.name]
        if on_data is not None:
            on_data(s.name, problems, s.space)
        results[s.name] = evaluated(model, pipeline.family, pipeline.framing, problems, seen_keys)
    return results


def evaluated(
    model: Any, family: Any, framing: Any, problems: Problems, seen_keys: np.ndarray | None
) -> SetResult:
    """`evaluate_set`, at a safe point before and after it: a signal that waited during
    inference stops the run here (`faults.check`), never in the middle of an MLflow write."""
    faults.check()
    result = evaluate_set(model, family, framing, problems, seen_keys)
    faults.check()
    return result


def log_results(results: dict[str, SetResult], folder: Path, run_id: str) -> None:
    """Log every set's metrics (`<set>/<metric>`), predictions CSV (`predictions.csv` for the
    test set, `predictions/<set>.csv` for the others) and breakdown table and plot
    (`breakdown/<set>.csv`, `.png`) to run `run_id` (active or finished) of the current store;
    files are written under `folder` first."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from addexp.evaluation.plots import breakdown_plot

    client = MlflowClient()
    now = int(time.time() * 1000)
    metrics = [
        Metric(f"{name}/{key}", value, now, 0)
        for name, result in results.items()
        for key, value in result.metrics.items()
    ]
    client.log_batch(run_id, metrics=metrics)
    for name, result in results.items():
        # A name may hold a folder ("beam4/digits_10": another decoding of the same set).
        where = str(Path(name).parent) if "/" in name else ""
        if name == "test":
            path, artifact_dir = folder / "predictions.csv", None
        else:
            path = folder / "predictions" / f"{name}.csv"
            artifact_dir = "/".join(p for p in ("predictions", where) if p)
        _write_csv(result.table, path)
        client.log_artifact(run_id, str(path), artifact_dir)
        table = _write_csv(result.breakdown, folder / "breakdown" / f"{name}.csv")
        plot = breakdown_plot(
            result.breakdown, folder / "breakdown" / f"{name}.png", f"{name}: exact match"
        )
        breakdown_dir = "/".join(p for p in ("breakdown", where) if p)
        client.log_artifact(run_id, str(table), breakdown_dir)
        client.log_artifact(run_id, str(plot), breakdown_dir)


def log_figures(
    folder: Path,
    run_name: str,
    model: Any,
    pipeline: Pipeline,
    history: list[dict],
    tested: SetResult,
    test: Problems,
) -> None:
    """The learning curves (when an epoch was trained), the answer plots of the test set
    (`test`, scored as `tested`) and the family's own figures (`ModelFamily.figures`, under
    `<family>/`), written under `folder` and logged to the active run."""
    import mlflow

    from addexp.evaluation.plots import answer_plots, learning_curves

    folder.mkdir(parents=True, exist_ok=True)
    if history:
        mlflow.log_artifact(str(learning_curves(history, folder / "learning_curves.png", run_name)))
    own = tested.layouts.own()
    for plot in answer_plots(tested.expected, tested.predicted, folder, run_name, own):
        mlflow.log_artifact(str(plot))
    family = pipeline.family
    if family.figures is not None:
        for figure in family.figures(model, pipeline.framing, test, folder / family.name):
            mlflow.log_artifact(str(figure), family.name)


def _write_csv(table: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.keys())
        writer.writerows(zip(*(column.tolist() for column in table.values()), strict=True))
    return path
