"""Position hints: an index tag for every digit, so that digits of equal place value match.

Each digit of a question is tagged with its place value within its own operand (0 = units, 1 =
tens, ...) plus an offset, so the digits of equal significance in every operand share one tag
(Cho et al. 2024, "Position Coupling"; the index hints of Zhou et al. 2023, "What Algorithms
Can Transformers Learn?"). Steps that are not digits (operators, padding, brackets) have no tag.
A decoder that writes its answer least significant digit first tags answer step t with
offset + t, so the step that writes a place can find that place in the question by content
(attention over the question) instead of by counting.

The offset is a hash of the question (its operands and template) modulo the offsets that still
fit: 0 .. hints - places, `places` being the most tags the question and the answer it is
written with need. Across training questions the offsets are spread over the whole range, so
training sees the large tags too, at low places (every answer tag up to hints - 1; the randomised
offsets of Ruoss et al. 2023, "Randomized Positional Encodings"), and a question longer than any
trained uses tags that training saw at other places. The offset is a function of the question
alone, never a random draw: an answer depends on its question alone (alike alone or beside
others), and training is reproducible from the seed and resumable bit for bit, with the same
function in training and at test time.

`places` counts the tags of the layout a question is written in (`addexp.framing.layouts`: a
function of
the question alone), not of its exact answer: a decoder may write up to the layout's answer
width and END, and every step it may write must have a tag within the range.
"""

from __future__ import annotations

import zlib

import numpy as np

from addexp.problems.space import MISSING, Problems

NO_TAG = -1  # the tag of a step that is not a digit
_ZERO, _NINE = ord("0"), ord("9")


def digit_places(chars: np.ndarray, reverse_input: bool = False) -> np.ndarray:
    """(n, w) int64: the place value of each digit of (n, w) question characters within its
    operand (0 = units), NO_TAG at every other step. `chars` are in the order the model reads
    them: with `reverse_input` the question is backwards, units first."""
    points = np.ascontiguousarray(chars, dtype="<U1").view(np.uint32)
    is_digit = (points >= _ZERO) & (points <= _NINE)
    if reverse_input:  # units first: a digit's place is its index in its run of digits
        return _index_in_run(is_digit)
    return _index_in_run(is_digit[:, ::-1])[:, ::-1]


def _index_in_run(flags: np.ndarray) -> np.ndarray:
    """(n, w) int64: for every True of (n, w) bool `flags`, its index within its run of
    consecutive Trues from the left; NO_TAG at every False."""
    count = np.cumsum(flags, axis=1)
    before_run = np.maximum.accumulate(np.where(flags, 0, count), axis=1)
    return np.where(flags, count - before_run - 1, NO_TAG)


def places_needed(
    operand_digits: np.ndarray | int, answer_steps: np.ndarray | int
) -> np.ndarray | int:
    """Tags a question needs (ints or (n,) arrays, elementwise): one per place of its widest
    operand, and one per answer step tagged (0 where the answer is not tagged)."""
    return np.maximum(operand_digits, answer_steps)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MULTIPLIERS = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on a uint64 array (arithmetic wraps modulo 2**64)."""
    z = z + _GOLDEN
    z = (z ^ (z >> _SHIFTS[0])) * _MULTIPLIERS[0]
    z = (z ^ (z >> _SHIFTS[1])) * _MULTIPLIERS[1]
    return z ^ (z >> _SHIFTS[2])


def question_hash(problems: Problems) -> np.ndarray:
    """(n,) uint64: a hash of each question's template and operands, in order. It depends on
    the question alone: not on the batch, on the number of MISSING columns, on int64 or Python
    integers, or on the process (no per-process salt, unlike Python's `hash`). int64 operands
    are hashed whole-array; Python integers (beyond int64) are reduced modulo 2**64 one by one."""
    unique, inverse = np.unique(problems.templates, return_inverse=True)
    crc = [zlib.crc32(str(t).encode()) for t in unique.tolist()]  # a few distinct templates
    h = np.array(crc, dtype=np.uint64)[inverse.ravel()]
    operands = problems.operands
    if operands.dtype == object:
        words = np.array([int(v) % 2**64 for v in operands.ravel()], dtype=np.uint64)
        words = words.reshape(operands.shape)
    else:
        words = np.ascontiguousarray(operands, dtype=np.int64).view(np.uint64)
    present = operands != MISSING
    for column in range(operands.shape[1]):
        h = np.where(present[:, column], _mix(h ^ words[:, column]), h)
    return h


def hint_offsets(problems: Problems, places: np.ndarray, hints: int) -> np.ndarray:
    """(n,) int64 offsets in 0 .. hints - places[i]: `question_hash` modulo the number of
    offsets at which the row's `places` tags (n,) fit into `hints` values. Raises ValueError
    for a row that needs more tags than `hints`."""
    places = np.asarray(places, dtype=np.int64)
    if len(places) and places.max() > hints:
        raise ValueError(
            f"a question needs {int(places.max())} position hints; there are {hints} "
            "(format.position_hints)"
        )
    choices = (hints - places + 1).astype(np.uint64)
    return (question_hash(problems) % choices).astype(np.int64)


def one_hot_tags(tags: np.ndarray, hints: int) -> np.ndarray:
    """(...) int tags in 0 .. hints - 1 or NO_TAG -> (..., hints) float32 one-hot vectors, all
    zeros at NO_TAG. Raises IndexError for a tag beyond the range."""
    return with_tags(np.zeros((*tags.shape, 0), np.float32), tags, hints)


def with_tags(features: np.ndarray, tags: np.ndarray, hints: int) -> np.ndarray:
    """(..., f) features and (...) tags -> (..., f + hints) float32: each step's features, then
    its tag one-hot (all zeros at NO_TAG: a step without a tag adds nothing, and a padding step
    stays all-zero for masking). Written into one array, not concatenated: at 128 hints the
    hints are most of the bytes. Raises IndexError for a tag beyond 0 .. hints - 1."""
    if tags.size and int(tags.max()) >= hints:
        raise IndexError(f"position hint {int(tags.max())} is beyond 0..{hints - 1}")
    width = features.shape[-1]
    out = np.zeros((*features.shape[:-1], width + hints), np.float32)
    out[..., :width] = features
    tagged = np.nonzero(tags != NO_TAG)
    out[(*tagged, width + tags[tagged])] = 1.0
    return out
