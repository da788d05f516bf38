"""The table of operations: one record per operator, used by sampling, bounds, text and parsing.

Adding an operation is one entry in `OPERATIONS`: its symbol as written, its precedence, how to
apply it exactly to whole NumPy arrays (int64 or Python integers), how to bound it over integer
intervals, whether it regroups (so the text knows which brackets a reader needs) and the Python
`ast` operator that reads it back from a typed question.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Interval = tuple[int, int]


@dataclass(frozen=True)
class Operation:
    """One binary operator.

    `regroups`: a op (b op c) == (a op b) op c, so a right operand at the same precedence needs
    no brackets (true for + and *, false for - and //). `regroups_over_inverse`: the same holds
    when the right operand's chain contains an inverse operator (a+(b-c) == a+b-c, but
    a*(b//c) != a*b//c). `inverse`: the operator undoes its level's regrouping one (- and //).
    """

    symbol: str
    precedence: int  # higher binds tighter
    apply: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    bound: Callable[[Interval, Interval], Interval | None]
    regroups: bool
    regroups_over_inverse: bool
    inverse: bool
    ast_op: type[ast.operator]


def _defined(left: np.ndarray) -> np.ndarray:
    return np.zeros(len(left), bool)


def _floor_divide(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Floor division (Python's //); rows dividing by zero are flagged undefined (value 0)."""
    zero = right == 0
    return np.floor_divide(left, np.where(zero, 1, right)), zero


def _corners(a: Interval, b: Interval, f: Callable[[int, int], int]) -> Interval:
    values = [f(x, y) for x in a for y in b]
    return min(values), max(values)


def _bound_floor_divide(a: Interval, b: Interval) -> Interval | None:
    """Quotients are extreme at the interval ends of the dividend and at the divisors nearest
    zero (+-1) or at the divisor ends; an upper bound, exact for non-negative operands."""
    divisors = [d for d in (b[0], b[1], 1, -1) if d != 0 and b[0] <= d <= b[1]]
    if not divisors:
        return None
    quotients = [x // d for x in a for d in divisors]
    return min(quotients), max(quotients)


OPERATIONS: dict[str, Operation] = {
    op.symbol: op
    for op in (
        Operation(
            "+", 1, lambda a, b: (a + b, _defined(a)),
            lambda a, b: (a[0] + b[0], a[1] + b[1]), True, True, False, ast.Add,
        ),
        Operation(
            "-", 1, lambda a, b: (a - b, _defined(a)),
            lambda a, b: (a[0] - b[1], a[1] - b[0]), False, False, True, ast.Sub,
        ),
        Operation(
            "*", 2, lambda a, b: (a * b, _defined(a)),
            lambda a, b: _corners(a, b, lambda x, y: x * y), True, False, False, ast.Mult,
        ),
        Operation(
            "//", 2, _floor_divide, _bound_floor_divide, False, False, True, ast.FloorDiv,
        ),
    )
}  # fmt: skip

LEAF_PRECEDENCE = 1 + max(op.precedence for op in OPERATIONS.values())  # an operand


def symbols_of(operations: tuple[str, ...]) -> str:
    """The characters the operators are written with ('//' -> '/')."""
    return "".join(sorted({c for o in operations for c in o}))
