"""The remainder of floor division, `%`, as Python computes it (the sign of the divisor)."""

from __future__ import annotations

import ast

import numpy as np

from addexp.problems.operations import Interval, Operation


def apply(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Python's `%` on (n,) arrays; rows with a zero divisor are undefined (value 0)."""
    zero = right == 0
    return np.where(zero, 0, np.remainder(left, np.where(zero, 1, right))), zero


def bound(a: Interval, b: Interval) -> Interval | None:
    """A remainder lies between 0 and the divisor (exclusive), on the divisor's side of 0: within
    -(|d| - 1) .. |d| - 1 for the divisor `d` of largest magnitude; None if it can only be 0."""
    if b == (0, 0):
        return None
    largest = max(abs(b[0]), abs(b[1])) - 1
    low = -largest if b[0] < 0 else 0
    high = largest if b[1] > 0 else 0
    return low, high


# Same precedence as * and //; x % (y * z) != (x % y) * z, so it associates with nothing.
MODULO = Operation("%", 2, apply, bound, ast.Mod)
