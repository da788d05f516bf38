"""Bounds on the values a problem space can produce, which fix the answer width.

Interval arithmetic on exact Python integers: exact for +, -, * (extremes sit at interval
corners, and every leaf range is contiguous); for // an upper bound.
"""

from __future__ import annotations

from addexp.problems import PRECEDENCE, ProblemSpace


def _combine(op: str, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int] | None:
    """Range of a `op` b for a in [a0, a1], b in [b0, b1] (None if always undefined)."""
    (a0, a1), (b0, b1) = a, b
    if op == "+":
        return a0 + b0, a1 + b1
    if op == "-":
        return a0 - b1, a1 - b0
    if op == "*":
        corners = [x * y for x in (a0, a1) for y in (b0, b1)]
        return min(corners), max(corners)
    divisors = [d for d in (b0, b1, 1, -1) if d != 0 and b0 <= d <= b1]
    if not divisors:
        return None
    quotients = [x // d for x in (a0, a1) for d in divisors]
    return min(quotients), max(quotients)


def _union(ranges: list[tuple[int, int] | None]) -> tuple[int, int]:
    real = [r for r in ranges if r is not None]
    return min(r[0] for r in real), max(r[1] for r in real)


def value_range(space: ProblemSpace) -> tuple[int, int]:
    """Smallest and largest value over every expression of the space: interval arithmetic over
    every tree (brackets) or over chains of * and // joined by + and - (flat, by precedence)."""
    leaf = (space.min_value, space.max_value)
    additive = [o for o in space.operations if PRECEDENCE[o] == 1]
    multiplicative = [o for o in space.operations if PRECEDENCE[o] == 2]
    k_max = space.max_terms
    if space.brackets:  # any tree: every split, every operator
        tree: dict[int, tuple[int, int]] = {1: leaf}
        for k in range(2, k_max + 1):
            tree[k] = _union(
                [_combine(o, tree[i], tree[k - i]) for i in range(1, k) for o in space.operations]
            )
        return _union([tree[k] for k in space.terms])
    # Flat: chains of * and // (left to right) joined by + and - (left to right).
    chain: dict[int, tuple[int, int] | None] = {1: leaf}
    for k in range(2, k_max + 1):
        prev = chain[k - 1]
        chain[k] = (
            _union([_combine(o, prev, leaf) for o in multiplicative])
            if multiplicative and prev
            else None
        )
    flat: dict[int, tuple[int, int]] = {}
    for k in range(1, k_max + 1):
        options = [chain[k]]
        for length in range(1, k):
            if chain[length] is not None:
                options += [_combine(o, flat[k - length], chain[length]) for o in additive]
        flat[k] = _union(options)
    return _union([flat[k] for k in space.terms])
