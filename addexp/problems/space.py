"""Problem spaces and the problems drawn from them.

`Problems` holds rows of operands, their expression templates ("(#+#)*#": one '#' per operand,
in order) and exact values; `ProblemSpace` says what is drawn (term counts, operands,
operations, brackets). A space is written in the config as the `data` keys (`DataConfig`);
`SPACE_KEYS` maps each key onto its field, both ways. Drawing lives in
`addexp.problems.sampling`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from math import comb
from typing import Any

import numpy as np

from addexp.config.schema import DataConfig
from addexp.problems.bounds import value_range
from addexp.problems.codes import NUL, as_strings, expression_codes

SLOT = "#"  # stands for the next operand in a template
MISSING = -1  # operand cell of a row with fewer than max_terms terms
INT64_SAFE = 2**62  # values below this in magnitude (and their sums) stay exact in int64


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


def term_counts(operands: np.ndarray) -> np.ndarray:
    """(n,) operands present in each row of (n, max_terms) operands (MISSING beyond)."""
    counts = np.zeros(len(operands), dtype=np.int64)
    for column in operands.T:  # a pass per column: several times faster than sum(axis=1)
        counts += column != MISSING
    return counts


def operand_digits(problems: Problems) -> np.ndarray:
    """(n, max_terms) decimal digits of every operand (0 where the row has no such term)."""
    present = problems.operands != MISSING
    return np.where(present, np.strings.str_len(problems.operands.astype(str)), 0)


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


def overlap(test: Problems, seen_keys: np.ndarray) -> float:
    """Fraction of test problems whose exact question also appeared in training."""
    return float(np.isin(question_keys(test), seen_keys).mean())


# --- the `data` config keys -----------------------------------------------------------------


def _unchanged(value: Any) -> Any:
    return value


def _floats_or_none(values: Any) -> tuple[float, ...] | None:
    return tuple(float(v) for v in values) if values else None


def _list_or_none(values: Any) -> list[Any] | None:
    return list(values) if values else None


@dataclass(frozen=True)
class SpaceKey:
    """How one `data` config key maps onto a `ProblemSpace` field: `read` turns the config
    value into the field's, `write` the field's back; `fallback` names the key read instead
    when this one is null (or 0)."""

    field: str
    read: Callable[[Any], Any]
    write: Callable[[Any], Any] = _unchanged
    fallback: str | None = None


PROBLEM_KEYS = tuple(f.name for f in fields(DataConfig))  # the `data` keys, in schema order
SPACE_KEYS: dict[str, SpaceKey] = {  # one row per key of PROBLEM_KEYS
    "terms": SpaceKey("min_terms", int),
    "max_terms": SpaceKey("max_terms", int, fallback="terms"),
    "operands": SpaceKey("mode", str),
    "low": SpaceKey("low", int),
    "largest": SpaceKey("largest", int),
    "min_digits": SpaceKey("min_digits", int),
    "max_digits": SpaceKey("max_digits", int),
    "operations": SpaceKey("operations", tuple, list),
    "operation_weights": SpaceKey("weights", _floats_or_none, _list_or_none),
    "brackets": SpaceKey("brackets", int),
}


def space_from_config(data: Any) -> ProblemSpace:
    """The problem space a `data` config section (or a mapping of the same keys) describes.
    Raises KeyError if `data` lacks one of `PROBLEM_KEYS`."""
    values = {}
    for name in PROBLEM_KEYS:
        key = SPACE_KEYS[name]
        value = data[name]
        if key.fallback is not None and not value:
            value = data[key.fallback]
        values[key.field] = key.read(value)
    return ProblemSpace(**values)


def space_to_config(space: ProblemSpace) -> dict[str, Any]:
    """The `data` config keys that describe `space`, in `PROBLEM_KEYS` order (the inverse of
    `space_from_config`)."""
    return {
        name: SPACE_KEYS[name].write(getattr(space, SPACE_KEYS[name].field))
        for name in PROBLEM_KEYS
    }
