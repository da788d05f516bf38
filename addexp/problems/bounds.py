"""Bounds on the values expressions can take, which fix the answer width.

Interval arithmetic on exact Python integers over the operation table: exact for +, -, *
(extremes sit at interval corners, and every leaf range is contiguous); for // an upper bound.
"""

from __future__ import annotations

from addexp.problems.operations import OPERATIONS, Interval


def _union(ranges: list[Interval | None]) -> Interval:
    real = [r for r in ranges if r is not None]
    return min(r[0] for r in real), max(r[1] for r in real)


def _combine(op: str, a: Interval | None, b: Interval | None) -> Interval | None:
    return None if a is None or b is None else OPERATIONS[op].bound(a, b)


def value_range(
    leaf: Interval, operations: tuple[str, ...], terms: range, brackets: int
) -> Interval:
    """Smallest and largest value of any expression of `terms` operands drawn from `leaf`:
    interval arithmetic over every tree (brackets > 0), or over chains of the tightest-binding
    operators joined by the others, left to right (flat questions read by precedence)."""
    k_max = max(terms)
    if brackets:  # any tree: every split, every operator
        tree: dict[int, Interval] = {1: leaf}
        for k in range(2, k_max + 1):
            tree[k] = _union(
                [_combine(o, tree[i], tree[k - i]) for i in range(1, k) for o in operations]
            )
        return _union([tree[k] for k in terms])
    levels = sorted({OPERATIONS[o].precedence for o in operations})
    additive = [o for o in operations if OPERATIONS[o].precedence == levels[0]]
    multiplicative = [o for o in operations if OPERATIONS[o].precedence > levels[0]]
    # Chains of the tighter operators (left to right) joined by the looser ones (left to right).
    chain: dict[int, Interval | None] = {1: leaf}
    for k in range(2, k_max + 1):
        options = [_combine(o, chain[k - 1], leaf) for o in multiplicative]
        chain[k] = _union(options) if any(options) else None
    flat: dict[int, Interval] = {}
    for k in range(1, k_max + 1):
        options = [chain[k]]
        for length in range(1, k):
            options += [_combine(o, flat[k - length], chain[length]) for o in additive]
        flat[k] = _union(options)
    return _union([flat[k] for k in terms])
