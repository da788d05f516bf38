"""Honest scores on held-out problems: whole-answer exact match first, then the rest.

`exact_match`: every character of the fixed-width answer is right (so the number and its layout).
`char_accuracy`: share of answer positions right (what Keras calls accuracy for seq2seq).
`rmse`: in integer units, over the answers that read as a number; `invalid_rate`: the others.
"""

from __future__ import annotations

import numpy as np

from addexp.framings import Answers
from addexp.problems import Problems
from addexp.text import render_expressions, render_integers


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
    """Columns for predictions.csv: readable question and answers (unpadded, never reversed)."""
    return {
        "input": render_expressions(problems),
        "expected": render_integers(problems.targets),
        "predicted": answers.text,
        "correct": (answers.chars == expected_chars).all(axis=1),
    }


def format_examples(table: dict, count: int) -> str:
    """The tutorial's closing printout: a few expected/predicted pairs."""
    lines = []
    for question, expected, predicted, correct in list(zip(*table.values(), strict=True))[:count]:
        mark = "" if correct else "   <- wrong"
        lines.append(f"{question:>20} = {expected:<12} predicted {str(predicted)!r}{mark}")
    return "\n".join(lines)
