"""Where a model goes wrong: exact match by operand digit count and by carries.

Carries are the classic failure axis of neural adders (a carry couples every digit to the ones
to its right): for each sum, the number of columns that carry into the next and the longest run
of consecutive carrying columns (carry chain), computed by column addition over all problems at
once. Questions that are not plain sums get no carry count (-1).
"""

from __future__ import annotations

import numpy as np

from addexp.problems.space import MISSING, Problems, operand_digits

AXES = ("digits", "carries", "carry_chain")  # columns of a breakdown table besides the counts
NOT_A_SUM = -1


def digit_columns(problems: Problems) -> np.ndarray:
    """(n, max_terms, width) decimal digits, least significant first; 0 for absent terms and
    beyond an operand's length."""
    width = max(int(operand_digits(problems).max(initial=1)), 1)
    values = np.where(problems.operands == MISSING, 0, problems.operands)
    text = np.strings.rjust(values.astype(str), width, "0")
    chars = np.ascontiguousarray(text, dtype=f"<U{width}").view("<U1")
    digits = chars.reshape(*values.shape, width).view(np.uint32) - ord("0")
    return digits[..., ::-1].astype(np.int64)


def carries(problems: Problems) -> tuple[np.ndarray, np.ndarray]:
    """(n,) number of carrying columns and (n,) longest carry chain of each sum (column
    addition of all its terms); NOT_A_SUM for other questions."""
    is_sum = np.strings.str_len(np.strings.strip(problems.templates, "#+")) == 0  # only # and +
    digits = digit_columns(problems)
    n, _, width = digits.shape
    carry = np.zeros(n, np.int64)
    count = np.zeros(n, np.int64)
    run = np.zeros(n, np.int64)
    longest = np.zeros(n, np.int64)
    for column in range(width):  # columns, not problems: every problem at once
        carry = (digits[:, :, column].sum(axis=1) + carry) // 10
        carrying = carry > 0
        count += carrying
        run = np.where(carrying, run + 1, 0)
        longest = np.maximum(longest, run)
    return np.where(is_sum, count, NOT_A_SUM), np.where(is_sum, longest, NOT_A_SUM)


def breakdown(problems: Problems, correct: np.ndarray) -> dict[str, np.ndarray]:
    """A long table of exact match per value of each axis: columns `axis`, `value`,
    `examples`, `exact_match` (share of whole answers right, 0..1). `digits` is the widest
    operand of a question; carry axes leave out questions that are not sums."""
    carry_count, chain = carries(problems)
    axes = {
        "digits": operand_digits(problems).max(axis=1),
        "carries": carry_count,
        "carry_chain": chain,
    }
    rows: dict[str, list] = {"axis": [], "value": [], "examples": [], "exact_match": []}
    for axis, values in axes.items():
        keep = values != NOT_A_SUM
        levels, inverse, counts = np.unique(values[keep], return_inverse=True, return_counts=True)
        right = np.bincount(inverse, weights=correct[keep].astype(float), minlength=len(levels))
        rows["axis"] += [axis] * len(levels)
        rows["value"] += levels.tolist()
        rows["examples"] += counts.tolist()
        rows["exact_match"] += (right / np.maximum(counts, 1)).tolist()
    return {k: np.asarray(v) for k, v in rows.items()}
