"""Sampling arithmetic problems with exact answers, vectorised with NumPy.

A problem is a row of operands, an expression *template* ("(#+#)*#": one '#' per operand, in
order) and the exact value. Templates are built by merging neighbouring items, all rows at once:
without brackets the merge order is the usual precedence (so the text needs none); with brackets
it is random, and the text gets the brackets a reader needs. A bracket-free space of one
operation (a+b+c, the common case) reads left to right, so it skips the merge: its values are
folded column by column and its templates follow from the term count, from the same random
draws (same problems, same stream afterwards). Values are int64 when the space cannot overflow
it, otherwise Python integers (object arrays): always exact.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from math import comb
from typing import Any

import numpy as np

from addexp.problems.bounds import value_range
from addexp.problems.codes import NUL, as_strings, expression_codes
from addexp.problems.operations import OPERATIONS, Operation, leaf_precedence

SLOT = "#"  # stands for the next operand in a template
MISSING = -1  # operand cell of a row with fewer than max_terms terms
INT64_SAFE = 2**62  # values below this in magnitude (and their sums) stay exact in int64
CHUNK_DIGITS = 18  # decimal digits drawn per int64 draw when operands exceed int64


@dataclass(frozen=True)
class Problems:
    """Rows of operands, their expression templates and exact values."""

    operands: (
        np.ndarray
    )  # (n, max_terms) int64 or object (Python ints); MISSING beyond a row's terms
    templates: np.ndarray  # (n,) str, e.g. "#+#*#"
    targets: np.ndarray  # (n,) int64, or object (Python ints) where int64 could overflow

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def counts(self) -> np.ndarray:
        """(n,) terms of every row."""
        return term_counts(self.operands)

    def questions(self, operand_width: int = 0) -> np.ndarray:
        """(n,) questions such as '7+10' or '(3-12)*4', unpadded; with `operand_width` every
        operand is left-padded with spaces to that width (' 7+10': per-term padding). int64
        operands are written as character codes (`addexp.problems.codes`), Python integers as
        strings."""
        if self.operands.dtype == np.int64:
            codes = expression_codes(
                self.operands, self.templates, None, "right", NUL, operand_width, slot=SLOT
            )
            return as_strings(codes)
        text = self.templates
        for column in self.operands.T:
            operand = column.astype(str)
            if operand_width:
                operand = np.strings.rjust(operand, operand_width, " ")
            text = np.strings.replace(text, SLOT, operand, 1)  # rows out of slots stay as they are
        return text

    def take(self, index: np.ndarray | slice) -> Problems:
        return Problems(self.operands[index], self.templates[index], self.targets[index])

    def copy(self) -> Problems:
        """The same rows in arrays of their own (no view of a larger draw)."""
        return Problems(self.operands.copy(), self.templates.copy(), self.targets.copy())

    @staticmethod
    def concat(parts: list[Problems]) -> Problems:
        """Rows of every part in order; parts of fewer terms are padded with MISSING."""
        terms = max(p.operands.shape[1] for p in parts)
        operands = [
            np.pad(p.operands, ((0, 0), (0, terms - p.operands.shape[1])), constant_values=MISSING)
            for p in parts
        ]
        return Problems(
            np.concatenate(operands),
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

    @property
    def max_operand_digits(self) -> int:
        """Digits of the widest operand the space can draw."""
        return len(str(self.max_value))

    def value_range(self) -> tuple[int, int]:
        """Smallest and largest value any expression can take (exact for sums and flat +,-,*)."""
        leaf = (self.min_value, self.max_value)
        return value_range(leaf, self.operations, self.terms, self.brackets)

    def dtype(self) -> type | np.dtype:
        """int64 where no value or intermediate product can overflow it, else Python ints."""
        lo, hi = self.value_range()
        bound = max(abs(lo), abs(hi), self.max_value**2)
        return np.dtype(np.int64) if bound < INT64_SAFE else np.dtype(object)

    def operands_outside(self, problems: Problems) -> tuple[np.ndarray, np.ndarray]:
        """(below, beyond), (n,) bool each: whether some operand of each problem is below this
        space's smallest operand, and whether some operand is above its largest."""
        present = problems.operands != MISSING
        below = (present & (problems.operands < self.min_value)).any(axis=1)
        beyond = (present & (problems.operands > self.max_value)).any(axis=1)
        return below, beyond

    def holds(self, problems: Problems) -> np.ndarray:
        """(n,) bool: whether each problem's term count and operands are ones this space draws
        (its operations and brackets are not looked at): False marks a question beyond it."""
        counts = problems.counts
        below, beyond = self.operands_outside(problems)
        return ~below & ~beyond & (counts >= self.min_terms) & (counts <= self.max_terms)

    def with_changes(self, **changes: Any) -> ProblemSpace:
        """A copy with some fields replaced (evaluation sets derive from the training space)."""
        return replace(self, **changes)

    def draw_operands(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, max_terms) operands, MISSING beyond each row's (uniform) term count: int64, or
        Python integers (object) where operands can reach 2**62."""
        shape = (n, self.max_terms)
        if self.mode == "range":
            values = uniform_integers(self.low, self.largest, shape, rng)
        else:  # Keras example: digit count uniform, then each digit uniform (leading zeros ok)
            digits = rng.integers(self.min_digits, self.max_digits, size=shape, endpoint=True)
            values = below_power_of_ten(self.max_digits, shape, rng)
            if values.dtype == object:
                values = values % np.power(10, digits.astype(object))
            else:
                values = values % 10**digits  # the low digits of a uniform draw are uniform
        counts = rng.integers(self.min_terms, self.max_terms, size=n, endpoint=True)
        for column in range(self.min_terms, self.max_terms):  # columns some rows go without
            values[counts <= column, column] = MISSING
        return values


def term_counts(operands: np.ndarray) -> np.ndarray:
    """(n,) operands present in each row of (n, max_terms) operands (MISSING beyond)."""
    counts = np.zeros(len(operands), dtype=np.int64)
    for column in operands.T:  # a pass per column: several times faster than sum(axis=1)
        counts += column != MISSING
    return counts


def below_power_of_ten(digits: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Integers uniform in [0, 10**digits), exact at any size: int64 up to 18 digits, beyond
    that Python integers (object) composed of 18-digit int64 draws, so nothing overflows."""
    if digits <= CHUNK_DIGITS:
        return rng.integers(0, 10**digits, size=shape, dtype=np.int64)
    value = np.zeros(shape, dtype=object)
    for start in range(0, digits, CHUNK_DIGITS):
        width = min(CHUNK_DIGITS, digits - start)
        chunk = rng.integers(0, 10**width, size=shape, dtype=np.int64).astype(object)
        value = value * 10**width + chunk
    return value


def uniform_integers(
    low: int, high: int, shape: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Integers uniform in [low, high] at any size: NumPy's own draw where int64 holds them,
    otherwise rejection sampling of uniform decimal draws (each round keeps >= 10%)."""
    if high < INT64_SAFE and low > -INT64_SAFE:
        return rng.integers(low, high, size=shape, endpoint=True, dtype=np.int64)
    span = high - low + 1
    digits = len(str(span - 1))
    out = np.empty(int(np.prod(shape)), dtype=object)
    todo = np.arange(out.size)
    while todo.size:
        draw = below_power_of_ten(digits, (todo.size,), rng)
        keep = draw < span
        out[todo[keep]] = draw[keep].astype(object) + low
        todo = todo[~keep]
    return out.reshape(shape)


def operand_digits(problems: Problems) -> np.ndarray:
    """(n, max_terms) decimal digits of every operand (0 where the row has no such term)."""
    present = problems.operands != MISSING
    return np.where(present, np.strings.str_len(problems.operands.astype(str)), 0)


def space_from_config(data: Any) -> ProblemSpace:
    """The problem space a `data` config section (or a mapping of the same keys) describes."""
    weights = data["operation_weights"]
    return ProblemSpace(
        min_terms=int(data["terms"]),
        max_terms=int(data["max_terms"] or data["terms"]),
        mode=str(data["operands"]),
        low=int(data["low"]),
        largest=int(data["largest"]),
        min_digits=int(data["min_digits"]),
        max_digits=int(data["max_digits"]),
        operations=tuple(data["operations"]),
        weights=tuple(float(w) for w in weights) if weights else None,
        brackets=int(data["brackets"]),
    )


# --- sampling -------------------------------------------------------------------------------


def _bracket(text: np.ndarray) -> np.ndarray:
    return np.strings.add(np.strings.add("(", text), ")")


@dataclass(frozen=True)
class _Table:
    """The operation table as arrays indexed by an operator's index in `OPERATIONS`:
    `records`, `precedence`, `bit` (1 << index: chains of operators are bit masks) and
    `associates` (the mask of the operators each one associates with)."""

    records: tuple[Operation, ...]
    precedence: np.ndarray
    bit: np.ndarray
    associates: np.ndarray


def _table() -> _Table:
    """The table of the operations registered now."""
    return _table_of(tuple(OPERATIONS))


@functools.cache
def _table_of(symbols: tuple[str, ...]) -> _Table:
    records = tuple(OPERATIONS[s] for s in symbols)
    index = {op.symbol: i for i, op in enumerate(records)}
    associates = [sum(1 << index[s] for s in op.associates_with if s in index) for op in records]
    return _Table(
        records,
        np.array([o.precedence for o in records]),
        np.left_shift(1, np.arange(len(records), dtype=np.int64)),
        np.array(associates, dtype=np.int64),
    )


def _needs_brackets(op: np.ndarray, child_prec: np.ndarray, child_chain: np.ndarray, right: bool):
    """Where a child expression must be bracketed under parent operator index `op`.
    `child_chain`: the mask of the operators in the child's own top-level chain (0: an
    operand). A left child needs brackets when it binds more loosely; a right child also when
    it is a chain of the parent's precedence holding an operator the parent does not associate
    with (`Operation.associates_with`): a-(b+c), a//(b*c), a*(b//c*d) change meaning without
    them; a+(b-c), a*(b*c) do not."""
    table = _table()
    parent = table.precedence[op]
    lower = child_prec < parent
    if not right:
        return lower
    foreign = (child_chain & ~table.associates[op]) != 0
    return lower | ((child_prec == parent) & foreign)


def _close_up(array: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """Drop column `gone[i]` of row i, shifting the rest left (the last column repeats);
    rows with gone == width are unchanged."""
    cols = np.arange(array.shape[1])[None, :]
    index = np.minimum(cols + (cols >= gone[:, None]), array.shape[1] - 1)
    return np.take_along_axis(array, index, axis=1)


def _draw_leaves(space: ProblemSpace, n: int, rng: np.random.Generator) -> tuple:
    """The random part of n candidates, in the order both ways of merging rely on: operands
    (n, max_terms), then operator indices into OPERATIONS (n, max(max_terms - 1, 1))."""
    names = list(OPERATIONS)
    allowed = np.array([names.index(o) for o in space.operations])
    weights = np.array(space.weights, float) / sum(space.weights) if space.weights else None
    operands = space.draw_operands(n, rng)
    ops = allowed[rng.choice(len(allowed), size=(n, max(space.max_terms - 1, 1)), p=weights)]
    return operands, ops


def _chain_templates(symbol: str, counts: np.ndarray) -> np.ndarray:
    """(n,) templates '#', '#+#', '#+#+#', ... of `counts` slots ('#' for 0), as '<U{w}' of
    the longest one."""
    table = [SLOT + (symbol + SLOT) * (k - 1) for k in range(int(counts.max(initial=1)) + 1)]
    return np.array(table, dtype=f"<U{len(table[-1])}").take(counts)


def _fold_chain(space: ProblemSpace, operands: np.ndarray) -> tuple[Problems, np.ndarray]:
    """Candidates of a bracket-free space with one operation: `a op b op c` reads left to
    right, so each value is the operands folded column by column with the operation's own
    `apply` (// flags division by zero), and the template follows from the term count alone.
    The same problems as `_merge_trees` draws, without its per-merge string work."""
    operation = OPERATIONS[space.operations[0]]
    counts = term_counts(operands)
    dtype = space.dtype()
    value = np.where(operands[:, 0] == MISSING, 0, operands[:, 0]).astype(dtype)
    bad = np.zeros(len(operands), bool)
    for column in range(1, space.max_terms):
        right = operands[:, column].astype(dtype, copy=False)
        active = counts > column
        if active.all():
            value, bad_here = operation.apply(value, right)
            bad |= bad_here
        else:
            rows = np.flatnonzero(active)
            value[rows], bad_here = operation.apply(value[rows], right[rows])
            bad[rows] |= bad_here
    return Problems(operands, _chain_templates(operation.symbol, counts), value), ~bad


def _draw(space: ProblemSpace, n: int, rng: np.random.Generator) -> tuple[Problems, np.ndarray]:
    """n candidate problems and a mask of the usable ones (defined, within the bracket depth).
    Bracket-free spaces of one operation take `_fold_chain`; the rest `_merge_trees`."""
    operands, ops = _draw_leaves(space, n, rng)
    if not space.brackets and len(space.operations) == 1:
        return _fold_chain(space, operands)
    return _merge_trees(space, operands, ops, rng)


def _merge_trees(
    space: ProblemSpace, operands: np.ndarray, ops: np.ndarray, rng: np.random.Generator
) -> tuple[Problems, np.ndarray]:
    """Candidates of any space from their operands and operators (`_draw_leaves`): items
    merged pairwise, by precedence or (with brackets) at random places drawn from `rng`,
    the text bracketed where a reader needs it; and the mask of usable rows."""
    n = len(operands)
    names = list(OPERATIONS)
    table = _table()
    prec_of = table.precedence
    counts = term_counts(operands)
    t = space.max_terms
    text = np.full((n, t), SLOT, dtype=np.dtypes.StringDType())
    value = np.where(operands == MISSING, 0, operands).astype(space.dtype())
    prec = np.full((n, t), leaf_precedence())
    chain = np.zeros((n, t), dtype=np.int64)  # the operators of an item's top-level chain
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
            apply = table.records[code].apply
            merged[sel], undefined[sel] = apply(value[sel, p[sel]], value[sel, q[sel]])
        wrap_l = _needs_brackets(op, prec[rows, p], chain[rows, p], right=False)
        wrap_r = _needs_brackets(op, prec[rows, q], chain[rows, q], right=True)
        level = prec_of[op]
        new_chain = (
            table.bit[op]
            | np.where(prec[rows, p] == level, chain[rows, p], 0)
            | np.where(~wrap_r & (prec[rows, q] == level), chain[rows, q], 0)
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
            (chain, new_chain),
            (depth, new_depth),
        ):
            array[active, p[active]] = new[active]
        text, value, prec, chain, depth = (
            _close_up(a, np.where(active, p + 1, a.shape[1]))
            for a in (text, value, prec, chain, depth)
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
        wanted = n - found
        if usable[:wanted].all():  # the usual case: the first rows will do (copied, not views)
            part = batch.take(slice(0, wanted)).copy()
        else:
            part = batch.take(np.flatnonzero(usable)[:wanted])
        parts.append(part)
        found += len(part)
    return parts[0] if len(parts) == 1 else Problems.concat(parts)


def question_keys(problems: Problems, unordered: bool = False) -> np.ndarray:
    """One comparable key per problem: its question text (operands sorted if `unordered`)."""
    if not unordered:
        return problems.questions()
    rows = np.sort(problems.operands, axis=1)  # MISSING (-1) sorts first
    if rows.dtype == object:  # Python integers: the sorted operands written out
        keys = np.full(len(rows), "", dtype=np.dtypes.StringDType())
        for column in rows.T.astype(str):
            keys = np.strings.add(np.strings.add(keys, column), ",")
        return keys
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


PROBLEM_KEYS = (
    "terms",
    "max_terms",
    "operands",
    "low",
    "largest",
    "min_digits",
    "max_digits",
    "operations",
    "operation_weights",
    "brackets",
)


def space_to_config(space: ProblemSpace) -> dict[str, Any]:
    """The `data` config keys that describe `space` (the inverse of `space_from_config`)."""
    return {
        "terms": space.min_terms,
        "max_terms": space.max_terms,
        "operands": space.mode,
        "low": space.low,
        "largest": space.largest,
        "min_digits": space.min_digits,
        "max_digits": space.max_digits,
        "operations": list(space.operations),
        "operation_weights": list(space.weights) if space.weights else None,
        "brackets": space.brackets,
    }


def eval_set_data(train: ProblemSpace, set_cfg: Any) -> dict[str, Any]:
    """The `data` keys of an evaluation set before its relative keys: the training space's,
    with the set's problem keys changed (null keys stay as trained; a set that changes
    `operations` or `terms` alone drops the training's weights or `max_terms`)."""
    data = space_to_config(train)
    changed = {k: set_cfg[k] for k in PROBLEM_KEYS if set_cfg.get(k) is not None}
    if "operations" in changed and "operation_weights" not in changed:
        data["operation_weights"] = None  # the training mix belongs to the training operations
    if "terms" in changed and "max_terms" not in changed:
        data["max_terms"] = None
    return data | changed


def eval_set_space(train: ProblemSpace, set_cfg: Any) -> ProblemSpace:
    """The space of an evaluation set: `eval_set_data`, then its relative keys applied:
    `digits` / `digits_scale` (every operand exactly that many digits, or that multiple of the
    training's widest operand, rounded) and `extra_terms` (that many more terms). Raises
    ValueError for a set that asks for no valid space (e.g. fewer than one digit)."""
    space = space_from_config(eval_set_data(train, set_cfg))
    digits = set_cfg.get("digits")
    if set_cfg.get("digits_scale") is not None:
        digits = round(set_cfg["digits_scale"] * train.max_operand_digits)
    if digits is not None:
        if digits < 1:
            raise ValueError(f"operands of {digits} digits")
        space = space.with_changes(
            mode="range", low=0 if digits == 1 else 10 ** (digits - 1), largest=10**digits - 1
        )
    extra = set_cfg.get("extra_terms") or 0
    return space.with_changes(min_terms=space.min_terms + extra, max_terms=space.max_terms + extra)
