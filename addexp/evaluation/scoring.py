"""Honest scores on held-out problems: a set decoded, every registered metric of it
(`addexp.evaluation.metrics`: whole-answer exact match first), its predictions table and its
breakdown by digits and carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from addexp.evaluation.breakdown import breakdown
from addexp.evaluation.decode import decode
from addexp.evaluation.metrics import Scored, compute
from addexp.framing.base import Answers
from addexp.framing.layouts import Layouts
from addexp.problems.space import Problems
from addexp.text.formats import PAD, join_rows


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
    scored = Scored(
        problems, expected, decoded.answers, decoded.layouts.own(), seen_keys, decoded.seconds
    )
    metrics = compute(scored)
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
