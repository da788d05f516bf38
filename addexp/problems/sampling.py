"""Drawing arithmetic problems with exact answers, vectorised with NumPy.

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
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from addexp.problems.operations import OPERATIONS, Operation, leaf_precedence
from addexp.problems.space import (
    INT64_SAFE,
    MISSING,
    SLOT,
    Problems,
    ProblemSpace,
    question_keys,
    term_counts,
)

CHUNK_DIGITS = 18  # decimal digits drawn per int64 draw when operands exceed int64


def draw_operands(space: ProblemSpace, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, max_terms) operands, MISSING beyond each row's (uniform) term count: int64, or
    Python integers (object) where operands can reach 2**62."""
    shape = (n, space.max_terms)
    if space.mode == "range":
        values = uniform_integers(space.low, space.largest, shape, rng)
    else:  # Keras example: digit count uniform, then each digit uniform (leading zeros ok)
        digits = rng.integers(space.min_digits, space.max_digits, size=shape, endpoint=True)
        values = below_power_of_ten(space.max_digits, shape, rng)
        if values.dtype == object:
            values = values % np.power(10, digits.astype(object))
        else:
            values = values % 10**digits  # the low digits of a uniform draw are uniform
    counts = rng.integers(space.min_terms, space.max_terms, size=n, endpoint=True)
    for column in range(space.min_terms, space.max_terms):  # columns some rows go without
        values[counts <= column, column] = MISSING
    return values


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
    operands = draw_operands(space, n, rng)
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


class _Items(NamedTuple):
    """The items of every row while they merge, (n, k) each, k shrinking to 1: `text` (the
    item's template), `value`, `prec` (precedence of its top operator; leaves bind tightest),
    `chain` (the mask of the operators in its top-level chain; 0: an operand) and `depth`
    (its deepest bracket nesting)."""

    text: np.ndarray
    value: np.ndarray
    prec: np.ndarray
    chain: np.ndarray
    depth: np.ndarray


def _leaves(space: ProblemSpace, operands: np.ndarray) -> _Items:
    """(n, max_terms) items, one per operand slot, before any merge."""
    n, t = len(operands), space.max_terms
    return _Items(
        text=np.full((n, t), SLOT, dtype=np.dtypes.StringDType()),
        value=np.where(operands == MISSING, 0, operands).astype(space.dtype()),
        prec=np.full((n, t), leaf_precedence()),
        chain=np.zeros((n, t), dtype=np.int64),
        depth=np.zeros((n, t), dtype=int),
    )


def _merge_places(
    space: ProblemSpace, ops: np.ndarray, gaps: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(n,) the operator each row merges next, of its `gaps` (n,) left: with brackets a random
    one drawn from `rng`, otherwise the leftmost of the tightest-binding ones, as a reader
    evaluates."""
    if space.brackets:
        n, t = len(ops), space.max_terms
        return np.minimum((rng.random(n) * np.maximum(gaps, 1)).astype(int), t - 2)
    rank = np.where(np.arange(ops.shape[1]) < gaps[:, None], _table().precedence[ops], -1)
    return rank.argmax(axis=1)


def _merged(
    items: _Items, op: np.ndarray, p: np.ndarray, active: np.ndarray
) -> tuple[_Items, np.ndarray]:
    """(n,) the items that operators `op` (n,) make of items p and p+1 of every row (only
    `active` rows are computed), bracketed where a reader needs it, and (n,) where the
    operation is undefined."""
    table = _table()
    rows = np.arange(len(op))
    q = np.minimum(p + 1, items.text.shape[1] - 1)
    merged = np.empty(len(op), dtype=items.value.dtype)
    undefined = np.zeros(len(op), bool)
    for code in np.unique(op[active]):
        sel = active & (op == code)
        apply = table.records[code].apply
        merged[sel], undefined[sel] = apply(items.value[sel, p[sel]], items.value[sel, q[sel]])
    wrap_l = _needs_brackets(op, items.prec[rows, p], items.chain[rows, p], right=False)
    wrap_r = _needs_brackets(op, items.prec[rows, q], items.chain[rows, q], right=True)
    level = table.precedence[op]
    chain = (
        table.bit[op]
        | np.where(items.prec[rows, p] == level, items.chain[rows, p], 0)
        | np.where(~wrap_r & (items.prec[rows, q] == level), items.chain[rows, q], 0)
    )
    left = np.where(wrap_l, _bracket(items.text[rows, p]), items.text[rows, p])
    right = np.where(wrap_r, _bracket(items.text[rows, q]), items.text[rows, q])
    symbols = np.array(list(OPERATIONS), dtype=np.dtypes.StringDType())[op]
    text = np.strings.add(np.strings.add(left, symbols), right)
    depth = np.maximum(items.depth[rows, p] + wrap_l, items.depth[rows, q] + wrap_r)
    return _Items(text, merged, level, chain, depth), undefined


def _replace_pair(items: _Items, new: _Items, p: np.ndarray, active: np.ndarray) -> _Items:
    """`items` with the `new` (n,) item written at p, then item p+1 closed up (active rows
    only; the others are unchanged)."""
    for array, value in zip(items, new, strict=True):
        array[active, p[active]] = value[active]
    return _Items(*(_close_up(a, np.where(active, p + 1, a.shape[1])) for a in items))


def _merge_trees(
    space: ProblemSpace, operands: np.ndarray, ops: np.ndarray, rng: np.random.Generator
) -> tuple[Problems, np.ndarray]:
    """Candidates of any space from their operands and operators (`_draw_leaves`): items
    merged pairwise, by precedence or (with brackets) at random places drawn from `rng`,
    the text bracketed where a reader needs it; and the mask of usable rows."""
    counts = term_counts(operands)
    items = _leaves(space, operands)
    bad = np.zeros(len(operands), bool)
    for step in range(space.max_terms - 1):
        active = counts - 1 > step  # rows with merges left
        p = _merge_places(space, ops, counts - 1 - step, rng)
        new, undefined = _merged(items, ops[np.arange(len(ops)), p], p, active)
        bad |= active & undefined
        items = _replace_pair(items, new, p, active)
        ops = _close_up(ops, np.where(active, p, ops.shape[1]))  # operator p is used up
    usable = ~bad & (items.depth[:, 0] <= space.brackets)
    width = int(np.strings.str_len(items.text[:, 0]).max(initial=1))
    templates = items.text[:, 0].astype(f"<U{width}")
    return Problems(operands, templates, items.value[:, 0]), usable


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
