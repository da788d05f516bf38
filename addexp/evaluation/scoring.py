"""Honest scores on held-out problems: whole-answer exact match first, then the rest.

`exact_match`: every character of the fixed-width answer is right (so the number and its layout).
`char_accuracy`: share of answer positions right (what Keras calls accuracy for seq2seq), per
row over its own layout's width when a set mixes layouts (`char_accuracy`).
`rmse`: in integer units, over the answers that read as a number; `invalid_rate`: the others.
`train_overlap`: share of the questions also trained on; `seconds`: inference wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from addexp.evaluation.breakdown import breakdown
from addexp.evaluation.decode import decode
from addexp.framing.base import Answers
from addexp.framing.layouts import Layouts
from addexp.problems.space import Problems, overlap
from addexp.text.formats import PAD, join_rows


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


def score(
    problems: Problems,
    expected_chars: np.ndarray,
    answers: Answers,
    own: np.ndarray | None = None,
) -> dict[str, float]:
    """Metrics of `answers` against the exact targets (no `test/` prefix). `expected_chars`
    and `answers.chars`: (n, width) in reading order; `own`: see `char_accuracy`."""
    right = answers.chars == expected_chars
    valid = answers.valid
    errors = (answers.values[valid] - problems.targets[valid]).astype(np.float64)
    return {
        "exact_match": float(right.all(axis=1).mean()),
        "char_accuracy": char_accuracy(right, own),
        "rmse": float(np.sqrt(np.mean(errors**2))) if valid.any() else float("nan"),
        "invalid_rate": float(1.0 - valid.mean()),
    }


def predictions_table(problems: Problems, expected_chars: np.ndarray, answers: Answers) -> dict:
    """Columns for a predictions CSV: the question as typed (`input`) and answers (unpadded,
    never reversed), whether the whole answer is right."""
    return {
        "input": problems.questions(),
        "expected": np.strings.strip(join_rows(expected_chars), PAD),
        "predicted": answers.text,
        "correct": (answers.chars == expected_chars).all(axis=1),
    }


@dataclass(frozen=True)
class SetResult:
    """Everything measured on one set: metrics (unprefixed), the predictions table, the
    breakdown table, the layout each question was written in, and the expected and predicted
    answers as (n, common answer width) characters in reading order (`layouts.own()`: the
    positions of each row's own layout)."""

    metrics: dict[str, float]
    table: dict[str, np.ndarray]
    breakdown: dict[str, np.ndarray]
    layouts: Layouts
    expected: np.ndarray
    predicted: np.ndarray


def evaluate_set(
    model: Any, family: Any, framing: Any, problems: Problems, seen_keys: np.ndarray | None
) -> SetResult:
    """Decode `problems`, score them (each against its right answer in its own layout) and
    break exact match down by digits and carries. `seen_keys`: question keys trained on
    (None: overlap unknown, reported as NaN)."""
    decoded = decode(model, family, framing, problems)
    expected = decoded.layouts.expected(problems)
    metrics = score(problems, expected, decoded.answers, decoded.layouts.own())
    metrics["train_overlap"] = (
        overlap(problems, seen_keys) if seen_keys is not None else float("nan")
    )
    metrics["seconds"] = decoded.seconds
    table = predictions_table(problems, expected, decoded.answers)
    return SetResult(
        metrics,
        table,
        breakdown(problems, table["correct"]),
        decoded.layouts,
        expected,
        decoded.answers.chars,
    )


def format_examples(table: dict, count: int) -> str:
    """The tutorial's closing printout: a few expected/predicted pairs."""
    lines = []
    rows = list(
        zip(*(table[k] for k in ("input", "expected", "predicted", "correct")), strict=True)
    )
    for question, expected, predicted, correct in rows[:count]:
        mark = "" if correct else "   <- wrong"
        lines.append(f"{question:>20} = {expected:<12} predicted {str(predicted)!r}{mark}")
    return "\n".join(lines)
