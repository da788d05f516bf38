"""Turning characters into model inputs and targets, and model outputs back into characters.

The alphabet is sorted, so the pad symbol (space) is index 0 and the order is the Keras example's
("0123456789+ " sorted). The tutorial lists the same 12 symbols in another order; for one-hot
inputs and softmax outputs that is only a relabelling of columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from addexp.text import PAD

DIGITS = "0123456789"


@dataclass(frozen=True)
class Alphabet:
    """The symbols a question or answer may contain, with integer indices."""

    symbols: str

    @classmethod
    def for_operators(cls, operators: str) -> Alphabet:
        return cls("".join(sorted(set(DIGITS + operators + PAD))))

    def __len__(self) -> int:
        return len(self.symbols)

    def _lookup(self) -> np.ndarray:
        table = np.full(max(map(ord, self.symbols)) + 1, -1, dtype=np.int64)
        table[[ord(s) for s in self.symbols]] = np.arange(len(self.symbols))
        return table

    def to_indices(self, chars: np.ndarray) -> np.ndarray:
        """(n, w) single characters -> (n, w) int indices; unknown symbols raise ValueError."""
        points = chars.view(np.uint32)
        table = self._lookup()
        inside = points < len(table)
        indices = np.where(inside, table[np.where(inside, points, 0)], -1)
        if (indices < 0).any():
            bad = sorted({str(c) for c in chars[indices < 0]})
            raise ValueError(f"symbols {bad} are not in the alphabet {self.symbols!r}")
        return indices.astype(np.int32)

    def to_chars(self, indices: np.ndarray) -> np.ndarray:
        """(n, w) int indices -> (n, w) single characters."""
        return np.array(list(self.symbols), dtype="<U1")[indices]

    def one_hot(self, indices: np.ndarray) -> np.ndarray:
        """(n, w) indices -> (n, w, len(alphabet)) float32 one-hot vectors."""
        return np.eye(len(self.symbols), dtype=np.float32)[indices]


def argmax_indices(probabilities: np.ndarray) -> np.ndarray:
    """Most likely symbol per output step: (n, w, symbols) -> (n, w)."""
    return probabilities.argmax(axis=-1).astype(np.int32)
