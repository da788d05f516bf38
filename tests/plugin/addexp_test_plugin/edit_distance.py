"""Digit edit distance: the mean Levenshtein distance between the answer written and the right
one, over their characters without padding (0 is perfect; lower is better)."""

from __future__ import annotations

import numpy as np

from addexp.evaluation.metrics import Metric, Scored
from addexp.text.formats import PAD, join_rows


def levenshtein(a: str, b: str) -> int:
    """Insertions, deletions and substitutions that turn `a` into `b` (Wagner-Fischer)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def digit_edit_distance(scored: Scored) -> float:
    written = np.strings.strip(join_rows(scored.answers.chars), PAD).tolist()
    right = np.strings.strip(join_rows(scored.expected), PAD).tolist()
    return float(np.mean([levenshtein(w, r) for w, r in zip(written, right, strict=True)]))


DIGIT_EDIT_DISTANCE = Metric(
    "digit_edit_distance",
    digit_edit_distance,
    higher_is_better=False,
    description="mean edit distance from the right answer, in characters",
    show=".3f",
)
