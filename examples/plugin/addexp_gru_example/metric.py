"""Within one: the share of answers that read as a number and miss the right value by at most 1
(right ones included), a measure of near misses beside exact match."""

from __future__ import annotations

import numpy as np

from addexp.evaluation.metrics import Metric, Scored


def within_one(scored: Scored) -> float:
    """Over the set's n rows: mean of (answer valid and |value - right value| <= 1)."""
    answers = scored.answers
    near = np.abs(answers.values.astype(object) - scored.problems.targets.astype(object)) <= 1
    return float(np.mean(answers.valid & near.astype(bool)))


WITHIN_ONE = Metric(
    "within_one",
    within_one,
    higher_is_better=True,
    description="share of answers at most 1 from the right value",
)
