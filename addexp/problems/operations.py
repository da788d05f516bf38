"""The operations: one record per operator, used by sampling, bounds, text and parsing.

An operation is one `Operation` record in `OPERATIONS`: its symbol as written, its precedence,
how to apply it exactly to whole NumPy arrays (int64 or Python integers), how to bound it over
integer intervals, which operators of its precedence it associates with (so the text has the
brackets a reader needs) and the Python `ast` operator that reads it back from a typed
question. An operation from another installed package is one entry point in the group
`addexp.operations` naming its record (the entry point's name is the symbol).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from addexp.registry import Registry

Interval = tuple[int, int]


@dataclass(frozen=True)
class Operation:
    """One binary operator, read left to right among operators of its precedence.

    `apply(left, right) -> (values, undefined)`: exact on (n,) arrays of int64 or Python
    integers, `undefined` (n,) bool flagging rows without a value (a zero divisor), whose
    value is then 0. `bound(a, b)`: an interval holding `left op right` for left in `a` and
    right in `b` (None if no value is defined).

    `associates_with`: the operators Q of the same precedence for which x op (y Q z) equals
    (x op y) Q z for all x, y, z. A reader reads `x op y Q z` as (x op y) Q z, so a right
    operand whose top-level chain holds only such operators needs no brackets; any other
    operator in it does: for + it is {+, -} (x+(y-z) == x+y-z), for * it is {*}
    (x*(y//z) != x*y//z, x*(y%z) != x*y%z), for -, // and % it is empty. Empty is always
    safe (brackets are written whenever the right operand is a chain of the same
    precedence), so a new operation need not list anything; a symbol it lists that is not an
    operation of its precedence is never met.
    """

    symbol: str
    precedence: int  # higher binds tighter
    apply: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    bound: Callable[[Interval, Interval], Interval | None]
    ast_op: type[ast.operator]
    associates_with: frozenset[str] = frozenset()


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


ADD = Operation(
    "+",
    1,
    lambda a, b: (a + b, _defined(a)),
    lambda a, b: (a[0] + b[0], a[1] + b[1]),
    ast.Add,
    frozenset({"+", "-"}),
)
SUBTRACT = Operation(
    "-", 1, lambda a, b: (a - b, _defined(a)), lambda a, b: (a[0] - b[1], a[1] - b[0]), ast.Sub
)
MULTIPLY = Operation(
    "*",
    2,
    lambda a, b: (a * b, _defined(a)),
    lambda a, b: _corners(a, b, lambda x, y: x * y),
    ast.Mult,
    frozenset({"*"}),
)
FLOOR_DIVIDE = Operation("//", 2, _floor_divide, _bound_floor_divide, ast.FloorDiv)
# Built-ins in this order: sampling draws operator indices into the table.
OPERATIONS: Registry[Operation] = Registry(
    "operation",
    "addexp.operations",
    Operation,
    {
        "+": "addexp.problems.operations:ADD",
        "-": "addexp.problems.operations:SUBTRACT",
        "*": "addexp.problems.operations:MULTIPLY",
        "//": "addexp.problems.operations:FLOOR_DIVIDE",
    },
    name_of=lambda operation: operation.symbol,
)  # fmt: skip


def leaf_precedence() -> int:
    """The precedence of an operand: tighter than every operator."""
    return 1 + max(op.precedence for op in OPERATIONS.values())


def symbols_of(operations: tuple[str, ...]) -> str:
    """The characters the operators are written with ('//' -> '/')."""
    return "".join(sorted({c for o in operations for c in o}))
