"""Honest scores on held-out problems: whole-answer exact match first, then the rest.

`exact_match`: every character of the fixed-width answer is right (so the number and its layout).
`char_accuracy`: share of answer positions right (what Keras calls accuracy for seq2seq).
`rmse`: in integer units, over the answers that read as a number; `invalid_rate`: the others.
`train_overlap`: share of the questions also trained on; `seconds`: inference wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from addexp.breakdown import breakdown
from addexp.decode import decode
from addexp.framings import Answers, expected_chars
from addexp.problems import Problems, overlap
from addexp.text import render_integers


def score(problems: Problems, expected_chars: np.ndarray, answers: Answers) -> dict[str, float]:
    """Metrics of `answers` against the exact targets (no `test/` prefix)."""
    right = answers.chars == expected_chars
    valid = answers.valid
    errors = (answers.values[valid] - problems.targets[valid]).astype(np.float64)
    return {
        "exact_match": float(right.all(axis=1).mean()),
        "char_accuracy": float(right.mean()),
        "rmse": float(np.sqrt(np.mean(errors**2))) if valid.any() else float("nan"),
        "invalid_rate": float(1.0 - valid.mean()),
    }


def predictions_table(problems: Problems, expected_chars: np.ndarray, answers: Answers) -> dict:
    """Columns for a predictions CSV: the question as typed (`input`) and answers (unpadded,
    never reversed), whether the whole answer is right."""
    return {
        "input": problems.questions(),
        "expected": render_integers(problems.targets),
        "predicted": answers.text,
        "correct": (answers.chars == expected_chars).all(axis=1),
    }


@dataclass(frozen=True)
class SetResult:
    """Everything measured on one set: metrics (unprefixed), the predictions table, the
    breakdown table, the framing (layout) the set was written in, and the expected and
    predicted answers as (n, answer width) characters in reading order."""

    metrics: dict[str, float]
    table: dict[str, np.ndarray]
    breakdown: dict[str, np.ndarray]
    framing: Any
    expected: np.ndarray
    predicted: np.ndarray


def evaluate_set(
    model: Any, family: Any, framing: Any, problems: Problems, seen_keys: np.ndarray | None
) -> SetResult:
    """Decode `problems`, score them and break exact match down by digits and carries.
    `seen_keys`: question keys trained on (None: overlap unknown, reported as NaN)."""
    decoded = decode(model, family, framing, problems)
    expected = expected_chars(decoded.framing.text_format, problems)
    metrics = score(problems, expected, decoded.answers)
    metrics["train_overlap"] = (
        overlap(problems, seen_keys) if seen_keys is not None else float("nan")
    )
    metrics["seconds"] = decoded.seconds
    table = predictions_table(problems, expected, decoded.answers)
    return SetResult(
        metrics,
        table,
        breakdown(problems, table["correct"]),
        decoded.framing,
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
