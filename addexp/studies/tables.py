"""Tables whose every number is read from MLflow runs, and written with what they were read from.

A `Table` is a header and `Row`s; a row names its runs (`Runs`: FINISHED runs of an experiment,
a filter, equal params) and its cells are text or a `Stat` of those runs (a metric's median,
range, spread, a duration, a comparison with another set of runs). `markdown` writes the table
after an HTML comment with its number (`SPEC_MARK`) and appends its whole specification to a
list that the study writes beside the page as JSON, so that a reader of the page can compute
every cell again from the store without this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SPEC_MARK = "study-table"
STATS = (
    "n",  # runs that hold the metric (all runs when no metric is named)
    "seeds",  # the runs' seeds, comma-separated in order
    "median",
    "min",
    "max",
    "mean",
    "std",  # sample standard deviation (0 for one run)
    "median_range",  # "median (min-max)", or the value alone for one run
    "seconds",  # median wall time of the runs, start to end
    "verdict",  # these runs against `baseline` on the metric: ranges apart or within spread
    "same_scores",  # these runs against `baseline`, paired by `keys`: equal metric or not
)


@dataclass(frozen=True)
class Runs:
    """FINISHED runs of `experiment` matching `filter` (MLflow's search syntax) and holding every
    param of `params` with that value; sweep parents (tag `sweep.keys`) when `parents`, else the
    runs that trained."""

    experiment: str
    filter: str = ""
    params: dict[str, str] = field(default_factory=dict)
    parents: bool = False


@dataclass(frozen=True)
class Stat:
    """A cell: `stat` (one of STATS) of `metric` over the row's runs named `runs`, written with
    `digits` decimals (bold when `bold`); `keys` pair runs for `same_scores`."""

    stat: str
    metric: str | None = None
    runs: str = "main"
    digits: int = 3
    bold: bool = False
    keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.stat not in STATS:
            raise ValueError(f"Stat {self.stat!r}: a stat is one of {', '.join(STATS)}")


@dataclass(frozen=True)
class Row:
    """Cells (text or Stat) and the runs they read, by name ("main", "baseline")."""

    cells: Sequence[str | Stat]
    runs: dict[str, Runs]


@dataclass(frozen=True)
class Record:
    """What a table reads of one run."""

    run_id: str
    name: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    seconds: float


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Row]

    def markdown(self, uri: str, specs: list[dict[str, Any]]) -> str:
        """The table with every Stat computed from the store at `uri`, after a comment naming
        its number in `specs`, to which its whole specification is appended."""
        specs.append(
            {
                "header": list(self.header),
                "rows": [
                    {
                        "cells": [c if isinstance(c, str) else asdict(c) for c in row.cells],
                        "runs": {k: asdict(v) for k, v in row.runs.items()},
                    }
                    for row in self.rows
                ],
            }
        )
        lines = [f"<!-- {SPEC_MARK} {len(specs) - 1} -->"]
        lines += ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        for row in self.rows:
            found = {name: fetch(uri, runs) for name, runs in row.runs.items()}
            cells = [c if isinstance(c, str) else cell(c, found) for c in row.cells]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def fetch(uri: str, runs: Runs) -> list[Record]:
    """The runs `runs` names, oldest first."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(runs.experiment)
    if experiment is None:
        raise LookupError(f"the store {uri} has no experiment {runs.experiment!r}")
    query = " and ".join(
        ["attributes.status = 'FINISHED'", *([runs.filter] if runs.filter else [])]
    )
    found, token = [], None
    while True:
        page = client.search_runs(
            [experiment.experiment_id],
            query,
            max_results=1000,
            page_token=token,
            order_by=["attributes.start_time ASC"],
        )
        found += [_record(r) for r in page if ("sweep.keys" in r.data.tags) == runs.parents]
        token = page.token
        if not token:
            break
    return [r for r in found if all(r.params.get(k) == v for k, v in runs.params.items())]


def _record(run: Any) -> Record:
    return Record(
        run_id=run.info.run_id,
        name=run.info.run_name,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tags=dict(run.data.tags),
        seconds=(run.info.end_time - run.info.start_time) / 1000,
    )


def number(value: float, digits: int) -> str:
    """`value` with `digits` decimals ("nan" for a missing value)."""
    return "nan" if np.isnan(value) else f"{value:.{digits}f}"


def cell(stat: Stat, found: dict[str, list[Record]]) -> str:
    """The text of one Stat cell from the runs found for its row."""
    runs = found[stat.runs]
    values = np.array([r.metrics[stat.metric] for r in runs if stat.metric in r.metrics], float)
    if stat.stat == "n":
        return str(len(values) if stat.metric else len(runs))
    if stat.stat == "seeds":
        return ", ".join(sorted((r.params["seed"] for r in runs), key=int))
    if stat.stat == "seconds":
        values = np.array([r.seconds for r in runs], float)
    if stat.stat in ("verdict", "same_scores"):
        return _against(stat, runs, found["baseline"])
    if not len(values):
        return "-"
    text = number(float(_POINT[stat.stat](values)), stat.digits)
    text = f"**{text}**" if stat.bold else text
    if stat.stat == "median_range" and len(values) > 1:
        low, high = (number(float(v), stat.digits) for v in (values.min(), values.max()))
        text += f" ({low}-{high})"
    return text


_POINT = {
    "median": np.median,
    "min": np.min,
    "max": np.max,
    "mean": np.mean,
    "seconds": np.median,
    "median_range": np.median,
    "std": lambda v: np.std(v, ddof=1) if len(v) > 1 else 0.0,
}


def verdict(values: np.ndarray, baseline: np.ndarray) -> str:
    """How `values` stand against `baseline`: "higher, ranges apart" (every value above the
    baseline's highest), "lower, ranges apart", or "within seed spread"."""
    if values.min() > baseline.max():
        return "higher, ranges apart"
    if values.max() < baseline.min():
        return "lower, ranges apart"
    return "within seed spread"


def _against(stat: Stat, runs: list[Record], baseline: list[Record]) -> str:
    metric = stat.metric
    if stat.stat == "verdict":
        ours = np.array([r.metrics[metric] for r in runs if metric in r.metrics], float)
        theirs = np.array([r.metrics[metric] for r in baseline if metric in r.metrics], float)
        return verdict(ours, theirs) if len(ours) and len(theirs) else "-"
    paired = {tuple(r.params.get(k) for k in stat.keys): r for r in baseline}
    differ = sum(
        1
        for r in runs
        if (other := paired.get(tuple(r.params.get(k) for k in stat.keys))) is None
        or other.metrics.get(metric) != r.metrics.get(metric)
    )
    return (
        f"yes, {len(runs)} of {len(runs)}" if not differ else f"no: {differ} of {len(runs)} differ"
    )


def groups(uri: str, runs: Runs, keys: Sequence[str]) -> list[dict[str, str]]:
    """The combinations of `keys`' param values among the runs, in natural order."""
    from addexp.cli.compare import natural_order

    found = {tuple(r.params.get(k, "-") for k in keys) for r in fetch(uri, runs)}
    return [dict(zip(keys, values, strict=True)) for values in sorted(found, key=natural_order)]


def grouped(uri: str, runs: Runs, keys: Sequence[str], metric: str, digits: int = 4) -> Table:
    """`addexp-compare`'s table: a row per group of `keys` (its values), then n, median, min,
    max, mean and std of `metric` over the group's runs."""
    rows = [
        Row(
            [
                *values.values(),
                *(
                    Stat(s, metric, digits=0 if s == "n" else digits)
                    for s in ("n", "median", "min", "max", "mean", "std")
                ),
            ],
            {"main": Runs(runs.experiment, runs.filter, {**runs.params, **values}, runs.parents)},
        )
        for values in groups(uri, runs, keys)
    ]
    return Table([*keys, "n", "median", "min", "max", "mean", "std"], rows)
