"""Sampling addition problems: operand matrices and their exact sums, vectorised with NumPy.

A problem set is an int64 matrix of operands (one row per expression, one column per term) and
the vector of row sums. Everything downstream (text, features, overlap) is derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Problems:
    """Rows of operands and their sums (the exact targets)."""

    operands: np.ndarray  # (n, terms) int64
    targets: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.targets)

    def take(self, index: np.ndarray | slice) -> Problems:
        return Problems(self.operands[index], self.targets[index])


@dataclass(frozen=True)
class OperandSpace:
    """How one operand is drawn: uniform in [low, largest], or digit count first, then digits."""

    terms: int
    mode: str = "range"
    low: int = 1
    largest: int = 10
    min_digits: int = 1
    max_digits: int = 3

    @property
    def max_value(self) -> int:
        return self.largest if self.mode == "range" else 10**self.max_digits - 1

    @property
    def values(self) -> int:
        """How many distinct operand values can be drawn."""
        if self.mode == "range":
            return self.largest - self.low + 1
        return 10**self.max_digits  # leading zeros make every value below 10**max_digits drawable

    def size(self, unordered: bool = False) -> int:
        """Number of distinct problems (ordered tuples, or multisets when `unordered`)."""
        from math import comb

        v, k = self.values, self.terms
        return comb(v + k - 1, k) if unordered else v**k

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """An (n, terms) int64 matrix of independent operands."""
        shape = (n, self.terms)
        if self.mode == "range":
            return rng.integers(self.low, self.largest, size=shape, endpoint=True, dtype=np.int64)
        # Keras addition example: digit count uniform, then each digit uniform (leading zeros
        # allowed), i.e. a value uniform below 10**digits.
        digits = rng.integers(self.min_digits, self.max_digits, size=shape, endpoint=True)
        return rng.integers(0, 10**digits, dtype=np.int64)


def space_from_config(data_cfg: Any) -> OperandSpace:
    """The operand space a `data` config section describes."""
    return OperandSpace(
        terms=int(data_cfg.terms),
        mode=str(data_cfg.operands),
        low=int(data_cfg.low),
        largest=int(data_cfg.largest),
        min_digits=int(data_cfg.min_digits),
        max_digits=int(data_cfg.max_digits),
    )


def _problems(operands: np.ndarray) -> Problems:
    return Problems(operands, operands.sum(axis=1))


def sample(space: OperandSpace, n: int, rng: np.random.Generator) -> Problems:
    """n independent problems (duplicates allowed): the `fresh` regime and every test set."""
    return _problems(space.draw(n, rng))


def row_keys(operands: np.ndarray, unordered: bool = False) -> np.ndarray:
    """One hashable void scalar per row, so sets of problems can use np.unique / np.isin."""
    rows = np.sort(operands, axis=1) if unordered else operands
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    return rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()


def sample_distinct(
    space: OperandSpace, n: int, rng: np.random.Generator, unordered: bool = False
) -> Problems:
    """n distinct problems in draw order (`fixed` regime); `unordered`: a+b and b+a count once."""
    if n > space.size(unordered):
        raise ValueError(f"{n} distinct problems asked of a space of {space.size(unordered)}")
    chosen = np.empty((0, space.terms), dtype=np.int64)
    while len(chosen) < n:
        batch = np.concatenate([chosen, space.draw(2 * (n - len(chosen)) + 16, rng)])
        _, first = np.unique(row_keys(batch, unordered), return_index=True)
        chosen = batch[np.sort(first)][:n]
    return _problems(chosen)


def overlap(test: Problems, seen_keys: np.ndarray) -> float:
    """Fraction of test problems whose exact question also appeared in training."""
    return float(np.isin(row_keys(test.operands), seen_keys).mean())
