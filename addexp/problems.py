"""Sampling arithmetic problems with exact answers, vectorised with NumPy.

A problem is a row of operands, an expression *template* ("(#+#)*#": one '#' per operand, in
order) and the exact value. Templates are built by merging neighbouring items, all rows at once:
without brackets the merge order is the usual precedence (so the text needs none); with brackets
it is random, and the text gets the brackets a reader needs. Values are int64 when the space
cannot overflow it, otherwise Python integers (object arrays): always exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from typing import Any

import numpy as np

# Operator -> precedence (higher binds tighter). Leaves (operands) have precedence 3.
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2}
LEAF = 3
SLOT = "#"  # stands for the next operand in a template
MISSING = -1  # operand cell of a row with fewer than max_terms terms


@dataclass(frozen=True)
class Problems:
    """Rows of operands, their expression templates and exact values."""

    operands: np.ndarray  # (n, max_terms) int64; MISSING beyond a row's term count
    templates: np.ndarray  # (n,) str, e.g. "#+#*#"
    targets: np.ndarray  # (n,) int64, or object (Python ints) where int64 could overflow

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def counts(self) -> np.ndarray:
        return (self.operands != MISSING).sum(axis=1)

    def take(self, index: np.ndarray | slice) -> Problems:
        return Problems(self.operands[index], self.templates[index], self.targets[index])

    @staticmethod
    def concat(parts: list[Problems]) -> Problems:
        return Problems(
            np.concatenate([p.operands for p in parts]),
            np.concatenate([p.templates for p in parts]),
            np.concatenate([p.targets for p in parts]),
        )


@dataclass(frozen=True)
class ProblemSpace:
    """What is drawn: term counts, operands (value range or digit counts), operations, brackets."""

    min_terms: int = 2
    max_terms: int = 2
    mode: str = "range"  # "range": uniform in [low, largest]; "digits": digit count first
    low: int = 1
    largest: int = 10
    min_digits: int = 1
    max_digits: int = 3
    operations: tuple[str, ...] = ("+",)
    weights: tuple[float, ...] | None = None  # mix of operations; None = uniform
    brackets: int = 0  # deepest bracket nesting; 0 = none (precedence decides)

    @property
    def terms(self) -> range:
        return range(self.min_terms, self.max_terms + 1)

    @property
    def min_value(self) -> int:
        return self.low if self.mode == "range" else 0

    @property
    def max_value(self) -> int:
        return self.largest if self.mode == "range" else 10**self.max_digits - 1

    @property
    def values(self) -> int:
        """How many operand values can be drawn (digits mode: leading zeros reach all below)."""
        return self.max_value - self.min_value + 1

    @property
    def sums_only(self) -> bool:
        return self.operations == ("+",) and self.brackets == 0

    def size(self, unordered: bool = False) -> int:
        """Distinct questions: exact for sums; for other operations an upper-bound estimate
        (operand tuples x operator choices x bracketings; some render alike)."""
        v, n_ops = self.values, len(self.operations)
        total = 0
        for k in self.terms:
            if unordered and self.sums_only:
                total += comb(v + k - 1, k)
            else:
                shapes = comb(2 * (k - 1), k - 1) // k if self.brackets else 1  # Catalan
                total += v**k * n_ops ** (k - 1) * shapes
        return total

    def value_range(self) -> tuple[int, int]:
        """Smallest and largest value any expression can take (exact for sums and flat +,-,*)."""
        from addexp.bounds import value_range

        return value_range(self)

    def dtype(self) -> type | np.dtype:
        lo, hi = self.value_range()
        bound = max(abs(lo), abs(hi), self.max_value**2)
        return np.dtype(np.int64) if bound < 2**62 else object

    def draw_operands(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, max_terms) int64 operands, MISSING beyond each row's (uniform) term count."""
        shape = (n, self.max_terms)
        if self.mode == "range":
            values = rng.integers(self.low, self.largest, size=shape, endpoint=True)
        else:  # Keras example: digit count uniform, then each digit uniform (leading zeros ok)
            digits = rng.integers(self.min_digits, self.max_digits, size=shape, endpoint=True)
            values = rng.integers(0, 10**digits, dtype=np.int64)
        counts = rng.integers(self.min_terms, self.max_terms, size=n, endpoint=True)
        values[np.arange(self.max_terms) >= counts[:, None]] = MISSING
        return values.astype(np.int64)


def space_from_config(data_cfg: Any) -> ProblemSpace:
    """The problem space a `data` config section describes."""
    weights = data_cfg.operation_weights
    return ProblemSpace(
        min_terms=int(data_cfg.terms),
        max_terms=int(data_cfg.max_terms or data_cfg.terms),
        mode=str(data_cfg.operands),
        low=int(data_cfg.low),
        largest=int(data_cfg.largest),
        min_digits=int(data_cfg.min_digits),
        max_digits=int(data_cfg.max_digits),
        operations=tuple(data_cfg.operations),
        weights=tuple(float(w) for w in weights) if weights else None,
        brackets=int(data_cfg.brackets),
    )


# --- sampling -------------------------------------------------------------------------------


def _apply(op: str, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact left `op` right, and where it is undefined (division by zero)."""
    if op == "+":
        return left + right, np.zeros(len(left), bool)
    if op == "-":
        return left - right, np.zeros(len(left), bool)
    if op == "*":
        return left * right, np.zeros(len(left), bool)
    zero = right == 0
    return np.floor_divide(left, np.where(zero, 1, right)), zero


def _bracket(text: np.ndarray) -> np.ndarray:
    return np.strings.add(np.strings.add("(", text), ")")


def _needs_brackets(op: np.ndarray, child_prec: np.ndarray, child_div: np.ndarray, right: bool):
    """Where a child expression must be bracketed under parent operator index `op`.
    `child_div`: the child's own top-level chain of * and // contains a //."""
    parent = np.array(list(PRECEDENCE.values()))[op]
    lower = child_prec < parent
    if not right:
        return lower
    # a-(b+c), a//(b*c) and a*(b//c*d) change meaning without brackets; a+(b-c), a*(b*c) do not.
    names = np.array(list(PRECEDENCE))[op]
    regroupable = (names == "+") | ((names == "*") & ~child_div)
    return lower | ((child_prec == parent) & ~regroupable)


def _close_up(array: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """Drop column `gone[i]` of row i, shifting the rest left (the last column repeats);
    rows with gone == width are unchanged."""
    cols = np.arange(array.shape[1])[None, :]
    index = np.minimum(cols + (cols >= gone[:, None]), array.shape[1] - 1)
    return np.take_along_axis(array, index, axis=1)


def _draw(space: ProblemSpace, n: int, rng: np.random.Generator) -> tuple[Problems, np.ndarray]:
    """n candidate problems and a mask of the usable ones (defined, within the bracket depth)."""
    names = list(PRECEDENCE)
    allowed = np.array([names.index(o) for o in space.operations])
    weights = np.array(space.weights, float) / sum(space.weights) if space.weights else None
    prec_of = np.array([PRECEDENCE[o] for o in names])

    operands = space.draw_operands(n, rng)
    counts = (operands != MISSING).sum(axis=1)
    t = space.max_terms
    ops = allowed[rng.choice(len(allowed), size=(n, max(t - 1, 1)), p=weights)]
    text = np.full((n, t), SLOT, dtype=np.dtypes.StringDType())
    value = np.where(operands == MISSING, 0, operands).astype(space.dtype())
    prec = np.full((n, t), LEAF)
    div = np.zeros((n, t), dtype=bool)  # an item's top-level chain of * and // has a //
    depth = np.zeros((n, t), dtype=int)
    bad = np.zeros(n, bool)
    rows = np.arange(n)

    for step in range(t - 1):
        active = counts - 1 > step  # rows with merges left
        gaps = counts - 1 - step  # merges possible now, per row
        if space.brackets:
            p = np.minimum((rng.random(n) * np.maximum(gaps, 1)).astype(int), t - 2)
        else:  # leftmost of the tightest-binding operators, as a reader evaluates
            rank = np.where(np.arange(ops.shape[1]) < gaps[:, None], prec_of[ops], -1)
            p = rank.argmax(axis=1)
        op = ops[rows, p]
        q = np.minimum(p + 1, t - 1)
        merged = np.empty(n, dtype=value.dtype)
        undefined = np.zeros(n, bool)
        for code in np.unique(op[active]):
            sel = active & (op == code)
            merged[sel], undefined[sel] = _apply(
                names[code], value[sel, p[sel]], value[sel, q[sel]]
            )
        wrap_l = _needs_brackets(op, prec[rows, p], div[rows, p], right=False)
        wrap_r = _needs_brackets(op, prec[rows, q], div[rows, q], right=True)
        multiplicative = prec_of[op] == 2
        new_div = multiplicative & (
            (np.array(names)[op] == "//")
            | ((prec[rows, p] == 2) & div[rows, p])
            | (~wrap_r & (prec[rows, q] == 2) & div[rows, q])
        )
        left = np.where(wrap_l, _bracket(text[rows, p]), text[rows, p])
        right = np.where(wrap_r, _bracket(text[rows, q]), text[rows, q])
        symbols = np.array(names, dtype=np.dtypes.StringDType())[op]
        new_depth = np.maximum(depth[rows, p] + wrap_l, depth[rows, q] + wrap_r)
        bad |= active & undefined

        # Write the merged item at p, then close up item p+1 and operator p (active rows only).
        for array, new in (
            (text, np.strings.add(np.strings.add(left, symbols), right)),
            (value, merged),
            (prec, prec_of[op]),
            (div, new_div),
            (depth, new_depth),
        ):
            array[active, p[active]] = new[active]
        text, value, prec, div, depth = (
            _close_up(a, np.where(active, p + 1, a.shape[1]))
            for a in (text, value, prec, div, depth)
        )
        ops = _close_up(ops, np.where(active, p, ops.shape[1]))

    usable = ~bad & (depth[:, 0] <= space.brackets)
    width = int(np.strings.str_len(text[:, 0]).max(initial=1))
    templates = text[:, 0].astype(f"<U{width}")
    return Problems(operands, templates, value[:, 0]), usable


def sample(
    space: ProblemSpace, n: int, rng: np.random.Generator, exclude: np.ndarray | None = None
) -> Problems:
    """n independent problems (duplicates allowed): the `fresh` regime and test sets.
    Questions whose keys are in `exclude` are redrawn."""
    parts, found = [], 0
    while found < n:
        batch, usable = _draw(space, max(2 * (n - found), 16), rng)
        if exclude is not None:
            usable &= ~np.isin(question_keys(batch), exclude)
        part = batch.take(np.flatnonzero(usable)[: n - found])
        parts.append(part)
        found += len(part)
    return Problems.concat(parts)


def question_keys(problems: Problems, unordered: bool = False) -> np.ndarray:
    """One comparable key per problem: its question text (operands sorted if `unordered`)."""
    from addexp.text import render_expressions

    if not unordered:
        return render_expressions(problems)
    rows = np.sort(problems.operands, axis=1)  # MISSING (-1) sorts first
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    return rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()


def sample_distinct(
    space: ProblemSpace,
    n: int,
    rng: np.random.Generator,
    unordered: bool = False,
    exclude: np.ndarray | None = None,
) -> Problems:
    """n distinct problems in draw order; `unordered`: a+b and b+a count once (sums only);
    `exclude`: question keys that must not appear (e.g. the training set's)."""
    if n > space.size(unordered):
        raise ValueError(f"{n} distinct problems asked of a space of {space.size(unordered)}")
    chosen: Problems | None = None
    stalled = 0
    while chosen is None or len(chosen) < n:
        have = 0 if chosen is None else len(chosen)
        fresh = sample(space, 2 * (n - have) + 16, rng, exclude)
        batch = fresh if chosen is None else Problems.concat([chosen, fresh])
        keys = question_keys(batch, unordered)
        _, first = np.unique(keys, return_index=True)
        keep = np.sort(first)
        chosen = batch.take(keep[:n])
        stalled = stalled + 1 if len(chosen) == have else 0
        if stalled >= 20:
            raise ValueError(f"found only {len(chosen)} distinct problems of the {n} asked")
    return chosen


def overlap(test: Problems, seen_keys: np.ndarray) -> float:
    """Fraction of test problems whose exact question also appeared in training."""
    return float(np.isin(question_keys(test), seen_keys).mean())
