"""Which layout each question is written in: for a family that reads any length, one that
depends on that question alone.

Laying a whole batch out for its widest question would make the answer to `12+7` depend on
what is asked with it: beside a 30-digit question it is read with more pad steps and written
over more answer steps. So each question gets the layout of a space quantised from it alone
(`row_space`): the training space's operations, brackets and smallest operand, the question's
own term count and, only when an operand lies beyond the training range, operands up to the
largest number of that many digits; the run's layout widened to that space, never narrower.
Questions inside the training space (every test set, the validation set) all get the run's own
layout. Questions of one layout are decoded together; `Layouts.join` puts their answers back in
order, padded on the layout's pad side to one common width, and `Layouts.own` says which
positions of that width each row's own layout holds (scoring leaves the rest out).

A family with a fixed input (the mapping framing) has one layout for every question.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from addexp.framing.base import Answers, expected_chars
from addexp.problems.space import Problems, ProblemSpace, operand_digits
from addexp.text.formats import PAD


def row_keys(problems: Problems, base: ProblemSpace) -> np.ndarray:
    """(n, 3) int64: what each row's layout depends on, read off its question alone (never
    its answer): the digits of its widest operand if some operand exceeds `base`'s largest
    (else 0), 1 if some operand is below `base`'s smallest (else 0), and its term count."""
    below, beyond = base.operands_outside(problems)
    digits = operand_digits(problems).max(axis=1, initial=0)
    return np.stack([np.where(beyond, digits, 0), below, problems.counts], axis=1).astype(np.int64)


def row_space(key: np.ndarray, base: ProblemSpace) -> ProblemSpace:
    """The space a row of this `row_keys` key is laid out for: `base` (its operations, brackets,
    smallest operand) with the row's term count, operands from 0 if the row goes below `base`'s
    smallest, and up to 10**digits - 1 if it goes beyond `base`'s largest. It holds the row."""
    digits, below, terms = (int(k) for k in key)
    return base.with_changes(
        min_terms=terms,
        max_terms=terms,
        mode="range",
        low=0 if below else base.min_value,
        largest=10**digits - 1 if digits else base.max_value,
    )


def widest_row_spaces(space: ProblemSpace, base: ProblemSpace) -> list[ProblemSpace]:
    """The `row_space` of the widest rows `space` can draw when laid out against the training
    space `base`, one per term count: every row of `space` is laid out no wider than the one
    of its term count (widths grow with the operands' digits and with operands from 0). For
    checking a set's layouts before anything is drawn."""
    digits = space.max_operand_digits if space.max_value > base.max_value else 0
    below = int(space.min_value < base.min_value)
    return [row_space(np.array([digits, below, terms]), base) for terms in space.terms]


@dataclass(frozen=True)
class Layouts:
    """The layouts of a batch of n questions: `framings`, one per distinct layout (ordered by
    answer width, question width, operand width), and `group`, (n,) int, the index into
    `framings` of each row's layout."""

    framings: tuple[Any, ...]
    group: np.ndarray

    def groups(self) -> Iterator[tuple[Any, np.ndarray]]:
        """(framing, row indices) of each layout, in the order of `framings`."""
        for index, framing in enumerate(self.framings):
            yield framing, np.flatnonzero(self.group == index)

    @property
    def width(self) -> int:
        """The common answer width: the widest layout's, in characters."""
        return max(f.text_format.answer_width for f in self.framings)

    @property
    def side(self) -> str:
        """The pad side of every layout (they differ in widths only)."""
        return self.framings[0].text_format.side

    def widths(self) -> np.ndarray:
        """(n,) answer width of each row's own layout, in characters."""
        own = np.array([f.text_format.answer_width for f in self.framings], dtype=np.int64)
        return own[self.group]

    def own(self) -> np.ndarray:
        """(n, width) bool: the positions of the common width that each row's own layout holds
        (the others are padding added to put narrower layouts into one array)."""
        columns = np.arange(self.width)
        widths = self.widths()[:, None]
        return columns >= self.width - widths if self.side == "left" else columns < widths

    def _place(self, out: np.ndarray, rows: np.ndarray, chars: np.ndarray) -> None:
        """Write (len(rows), w) characters into rows of the (n, width) `out`, on the side
        opposite the padding (where the layout anchors the answer)."""
        w = chars.shape[1]
        if self.side == "left":
            out[rows, self.width - w :] = chars
        else:
            out[rows, :w] = chars

    def expected(self, problems: Problems) -> np.ndarray:
        """(n, width) right answers in reading order, each laid out exactly as a perfect model
        writes it in its row's own layout, then padded to the common width."""
        out = np.full((len(problems), self.width), PAD, dtype="<U1")
        for framing, rows in self.groups():
            self._place(out, rows, expected_chars(framing.text_format, problems.take(rows)))
        return out

    def join(self, parts: list[Answers]) -> Answers:
        """One `Answers` for the whole batch, in its order, from the answers of each layout
        (`parts`, in the order of `groups`); characters padded to the common width."""
        n = len(self.group)
        chars = np.full((n, self.width), PAD, dtype="<U1")
        exact = any(p.values.dtype == object for p in parts)  # beyond int64: Python ints
        values = np.zeros(n, dtype=object if exact else np.int64)
        valid = np.zeros(n, dtype=bool)
        scored = all(p.log_prob is not None for p in parts)
        log_prob = np.zeros(n) if scored else None
        for (_, rows), part in zip(self.groups(), parts, strict=True):
            self._place(chars, rows, part.chars)
            values[rows] = part.values
            valid[rows] = part.valid
            if log_prob is not None:
                log_prob[rows] = part.log_prob
        return Answers(chars, values, valid, log_prob)


def per_row(framing: Any, any_length: bool) -> bool:
    """Whether each question gets its own layout: a family that reads any length, in a framing
    that knows its training space (else one layout holds every question)."""
    return any_length and getattr(framing, "space", None) is not None


def widest_layouts(
    framing: Any, space: ProblemSpace, any_length: bool
) -> list[tuple[Any, ProblemSpace]]:
    """(layout, questions) covering every question `space` can draw: laid out per row, one per
    term count, the layout of that count's widest row (`widest_row_spaces`) and `space`'s
    questions of that count; else `framing`'s own layout and the whole of `space`."""
    if not per_row(framing, any_length):
        return [(framing, space)]
    rows = widest_row_spaces(space, framing.space)
    return [
        (framing.fitted(row), space.with_changes(min_terms=row.max_terms, max_terms=row.max_terms))
        for row in rows
    ]


def layouts_for(framing: Any, problems: Problems, any_length: bool) -> Layouts:
    """The layout of every row of `problems`. For a family that reads any length (`any_length`
    and a framing that knows its training space), each row's is `framing.fitted` to
    `row_space` of its own key, so it depends on that row and the run alone; otherwise (or for
    no rows) every row is written in `framing`'s own layout, and a row that layout cannot hold
    raises ValueError when it is written (`TextFormat.questions`)."""
    if not per_row(framing, any_length) or len(problems) == 0:
        return Layouts((framing,), np.zeros(len(problems), dtype=np.int64))
    space = framing.space
    keys, inverse = np.unique(row_keys(problems, space), axis=0, return_inverse=True)
    fitted = [framing.fitted(row_space(key, space)) for key in keys]
    formats = sorted(
        {f.text_format for f in fitted},
        key=lambda t: (t.answer_width, t.question_width, t.operand_width),
    )
    framings = tuple(next(f for f in fitted if f.text_format == t) for t in formats)
    of_key = np.array([formats.index(f.text_format) for f in fitted], dtype=np.int64)
    return Layouts(framings, of_key[inverse.ravel()])
