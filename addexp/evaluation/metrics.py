"""The metrics of a set, one registry record each, and what whoever shows, ranks or optimises a
metric reads of it: its direction, whether it may be `eval.objective`, its console format.

A metric is computed once per set from what scoring knows of it (`Scored`) and logged as
`<set>/<name>`. The design is lm-evaluation-harness's (`lm_eval/api/metrics.py`: a metric is
registered with its aggregation and `higher_is_better`, and whoever ranks reads the direction
from there, never from a list kept elsewhere). A metric from another installed package is one
entry point in the group `addexp.metrics` naming its `Metric`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from addexp.framing.base import Answers
from addexp.problems.space import Problems, overlap
from addexp.registry import Registry

KERAS_VAL_METRICS = {"accuracy": True}  # val/ metrics Keras logs itself: name -> higher is better


@dataclass(frozen=True)
class Scored:
    """What scoring knows of one set of n problems: `problems`; `expected`, (n, width) the right
    answers' characters in reading order, as a perfect model writes them in each row's own
    layout; `answers`, what the model wrote (`answers.chars` of the same shape); `own`, (n,
    width) bool, the positions each row's own layout holds (None: all); `seen_keys`, the
    question keys trained on (None: unknown); `seconds`, inference wall time."""

    problems: Problems
    expected: np.ndarray
    answers: Answers
    own: np.ndarray | None = None
    seen_keys: np.ndarray | None = None
    seconds: float = float("nan")

    @property
    def right(self) -> np.ndarray:
        """(n, width) bool: each position written right."""
        return self.answers.chars == self.expected


@dataclass(frozen=True)
class Metric:
    """One metric of a set: `compute(scored) -> float` (NaN where it has no value),
    `higher_is_better` (which way a sweep ranks and Optuna optimises it), `objective` (whether
    `eval.objective` may name it), `show` (a console format such as ".4f"; "" keeps it off
    the console summary) and a one-line `description` with its unit."""

    name: str
    compute: Callable[[Scored], float]
    higher_is_better: bool
    description: str
    objective: bool = True
    show: str = ".4f"


def char_accuracy(right: np.ndarray, own: np.ndarray | None = None) -> float:
    """Share of answer positions right: the mean over rows of each row's share of right
    positions within its own layout's answer width.

    `right`: (n, width) bool, a position right; `own`: (n, width) bool, the positions each
    row's own layout holds (`Layouts.own`; None: every position). Rows decoded in narrower
    layouts are padded to the common width with pads in both the expected and the predicted
    answer; counting those would score positions the model never wrote, so they are left out.
    Rows weigh alike, as in exact match (a longer answer does not count more): the rows of one
    answer width are scored over that width, and the widths weighted by their share of rows.
    For one layout this is the share of all positions right, as Keras' per-step accuracy; the
    sum is exact (rational), so it is that share to the last bit and a perfect set scores 1."""
    if own is None:
        return float(right.mean())
    widths = own.sum(axis=1)
    total = Fraction(0)
    for width in np.unique(widths):
        rows = widths == width
        total += Fraction(int(right[rows][own[rows]].sum()), int(width))
    return float(total / len(right))


def _rmse(s: Scored) -> float:
    valid = s.answers.valid
    if not valid.any():
        return float("nan")
    errors = (s.answers.values[valid] - s.problems.targets[valid]).astype(np.float64)
    return float(np.sqrt(np.mean(errors**2)))


def _overlap(s: Scored) -> float:
    return overlap(s.problems, s.seen_keys) if s.seen_keys is not None else float("nan")


EXACT_MATCH = Metric(
    "exact_match",
    lambda s: float(s.right.all(axis=1).mean()),
    True,
    "share of answers right in every character (the number and its layout), 0-1",
)
CHAR_ACCURACY = Metric(
    "char_accuracy",
    lambda s: char_accuracy(s.right, s.own),
    True,
    "share of answer positions right, each row over its own layout's width, 0-1",
)
RMSE = Metric(
    "rmse",
    _rmse,
    False,
    "root mean squared error in integer units, over the answers that read as a number",
    show=".3f",
)
INVALID_RATE = Metric(
    "invalid_rate",
    lambda s: float(1.0 - s.answers.valid.mean()),
    False,
    "share of answers that do not read as a number, 0-1",
)
TRAIN_OVERLAP = Metric(
    "train_overlap",
    _overlap,
    False,
    "share of the set's questions also trained on (NaN: unknown), 0-1",
    objective=False,
    show=".3f",
)
SECONDS = Metric(
    "seconds",
    lambda s: s.seconds,
    False,
    "inference wall time of the set, encoding and decoding included, in seconds",
    objective=False,
    show="",
)
METRICS: Registry[Metric] = Registry(
    "metric",
    "addexp.metrics",
    Metric,
    {
        name: f"addexp.evaluation.metrics:{name.upper()}"
        for name in ("exact_match", "char_accuracy", "rmse", "invalid_rate")
    }
    | {"train_overlap": "addexp.evaluation.metrics:TRAIN_OVERLAP"}
    | {"seconds": "addexp.evaluation.metrics:SECONDS"},
)


def compute(scored: Scored) -> dict[str, float]:
    """Every registered metric of one set, by name (no `<set>/` prefix), in registry order."""
    return {name: metric.compute(scored) for name, metric in METRICS.items()}


def higher_is_better(objective: str) -> bool:
    """The direction of `SPLIT/METRIC` (`eval.objective`): the metric's own, for `val/` a
    Keras metric's. Raises KeyError for a metric that is neither."""
    metric = objective.partition("/")[2]
    if objective.startswith("val/") and metric in KERAS_VAL_METRICS:
        return KERAS_VAL_METRICS[metric]
    return METRICS[metric].higher_is_better


def direction(objective: str) -> str:
    """Optuna's name for the direction of `objective`: "maximize" or "minimize"."""
    return "maximize" if higher_is_better(objective) else "minimize"


def objectives(split: str) -> list[str]:
    """The `eval.objective` values a split allows: `val/` exact match and Keras' accuracy
    (what the validation epoch computes); a test or evaluation set every objective metric."""
    if split == "val":
        return ["val/exact_match", *(f"val/{m}" for m in KERAS_VAL_METRICS)]
    return [f"{split}/{name}" for name, m in METRICS.items() if m.objective]


def summary(name: str, metrics: Mapping[str, float]) -> str:
    """One console line of a set's metrics, in registry order, each in its own format:
    "test: exact_match 0.9700  char_accuracy 0.9900 ..."."""
    shown = [
        f"{key} {metrics[key]:{m.show}}" for key, m in METRICS.items() if m.show and key in metrics
    ]
    return f"{name}: " + "  ".join(shown)
