"""Turning characters into model inputs and targets, and model outputs back into characters.

The alphabet is sorted, so the pad symbol (space) is index 0 and sums use the Keras example's
order (" +0123456789"). The tutorial lists the same 12 symbols in another order; for one-hot
inputs and softmax outputs that is only a relabelling of columns.

Input encodings: `onehot` (the tutorial), `integer` (one scalar per step: the symbol's index
scaled to [0, 1], the tutorial's "integer encoding alone"), `embedding` (indices for a learned
Embedding layer). With masking, padding steps encode as zeros (one-hot, integer) or index 0
(embedding), which the model's Masking layer / `mask_zero` hides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from addexp.text.formats import PAD

DIGITS = "0123456789"
ENCODINGS = ("onehot", "integer", "embedding")
FEATURE_ENCODINGS = ("onehot", "integer")  # a step is a feature vector: more features fit


@dataclass(frozen=True)
class Alphabet:
    """The symbols a question or answer may contain, with integer indices (pad = 0)."""

    symbols: str

    @classmethod
    def for_symbols(cls, extra: str) -> Alphabet:
        return cls("".join(sorted(set(DIGITS + extra + PAD))))

    def __len__(self) -> int:
        return len(self.symbols)

    def to_indices(self, chars: np.ndarray) -> np.ndarray:
        """(n, w) single characters -> (n, w) int32 indices; unknown symbols raise ValueError."""
        points = np.ascontiguousarray(chars, dtype="<U1").view(np.uint32)
        # index per code point; the last entry (-1) stands for every code point beyond
        table = np.full(max(map(ord, self.symbols)) + 2, -1, dtype=np.int32)
        table[[ord(s) for s in self.symbols]] = np.arange(len(self.symbols))
        indices = np.take(table, points, mode="clip")
        if (indices < 0).any():
            bad = sorted({str(c) for c in chars[indices < 0]})
            raise ValueError(f"symbols {bad} are not in the alphabet {self.symbols!r}")
        return indices

    def to_chars(self, indices: np.ndarray) -> np.ndarray:
        """(n, w) int indices -> (n, w) single characters."""
        return np.array(list(self.symbols), dtype="<U1")[indices]

    def one_hot(self, indices: np.ndarray) -> np.ndarray:
        """(n, w) indices -> (n, w, len(alphabet)) float32 one-hot vectors."""
        return one_hot(indices, len(self.symbols))


def one_hot(indices: np.ndarray, depth: int) -> np.ndarray:
    """(...) integer indices in [0, depth) -> (..., depth) float32 one-hot vectors: rows of
    the identity gathered by `np.take`, a few times faster than fancy indexing `eye[indices]`
    (same values). Indices outside [-depth, depth) raise IndexError, as fancy indexing does."""
    return np.take(np.eye(depth, dtype=np.float32), indices, axis=0)


def encode_inputs(indices: np.ndarray, alphabet: Alphabet, encoding: str, masking: bool):
    """Model inputs for (n, w) symbol indices in the chosen encoding."""
    if encoding == "embedding":
        return indices
    if encoding == "integer":
        return (indices / (len(alphabet) - 1)).astype(np.float32)[..., None]
    vectors = alphabet.one_hot(indices)
    if masking:
        vectors[indices == 0] = 0.0  # pad steps become all-zero, which Masking hides
    return vectors


def argmax_indices(probabilities: np.ndarray) -> np.ndarray:
    """Most likely symbol per output step: (n, w, symbols) -> (n, w)."""
    return probabilities.argmax(axis=-1).astype(np.int32)
