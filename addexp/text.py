"""Writing problems as fixed-width character strings, and reading answers back.

Everything works on NumPy string arrays (`np.strings`), so rendering and parsing run in C over
whole arrays. Widths are exact: the length of the longest string the configuration can produce.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from addexp.problems import OperandSpace, Problems

PAD = " "
PADDINGS = ("left", "right")


def render_expressions(operands: np.ndarray) -> np.ndarray:
    """'7+10'-style questions, unpadded, one per row of operands."""
    text = operands[:, 0].astype(str)
    for column in operands.T[1:]:
        text = np.strings.add(np.strings.add(text, "+"), column.astype(str))
    return text


def render_integers(values: np.ndarray) -> np.ndarray:
    """Answers as decimal strings, unpadded."""
    return np.asarray(values).astype(str)


def pad(text: np.ndarray, width: int, padding: str) -> np.ndarray:
    """Pad every string to exactly `width` characters on the given side."""
    longest = int(np.strings.str_len(text).max(initial=0))
    if longest > width:
        raise ValueError(f"a string of {longest} characters does not fit width {width}")
    fill = np.strings.rjust if padding == "left" else np.strings.ljust
    return fill(text, width, PAD).astype(f"<U{width}")


def char_matrix(text: np.ndarray, width: int) -> np.ndarray:
    """(n, width) array of single characters from equal-width strings."""
    return np.ascontiguousarray(text, dtype=f"<U{width}").view("<U1").reshape(-1, width)


def join_rows(chars: np.ndarray) -> np.ndarray:
    """Inverse of `char_matrix`: one string per row."""
    width = chars.shape[1]
    return np.ascontiguousarray(chars, dtype="<U1").view(f"<U{width}").ravel()


def parse_integers(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read padded answers back: (values, valid). Invalid (not one integer) rows get value 0."""
    core = np.strings.strip(text, PAD)
    unsigned = np.where(np.strings.startswith(core, "-"), np.strings.slice(core, 1, None), core)
    valid = np.strings.isdecimal(unsigned) & (np.strings.str_len(unsigned) > 0)
    values = np.zeros(len(text), dtype=np.int64)
    values[valid] = core[valid].astype(np.int64)
    return values, valid


def question_width(space: OperandSpace) -> int:
    """Characters in the longest question: every operand at its widest, plus the operators."""
    return space.terms * len(str(space.max_value)) + space.terms - 1


def answer_width(space: OperandSpace) -> int:
    """Characters in the longest answer: the largest possible sum."""
    return len(str(space.terms * space.max_value))


@dataclass(frozen=True)
class TextFormat:
    """How questions and answers are laid out as fixed-width strings."""

    question_width: int
    answer_width: int
    padding: str = "left"
    reverse_input: bool = False

    @classmethod
    def for_space(cls, space: OperandSpace, padding: str, reverse_input: bool) -> TextFormat:
        return cls(question_width(space), answer_width(space), padding, reverse_input)

    def questions(self, problems: Problems) -> np.ndarray:
        """(n, question_width) characters exactly as the model reads them."""
        padded = pad(render_expressions(problems.operands), self.question_width, self.padding)
        chars = char_matrix(padded, self.question_width)
        return chars[:, ::-1] if self.reverse_input else chars

    def answers(self, text: np.ndarray) -> np.ndarray:
        """(n, answer_width) characters of the padded answers, from unpadded answer strings."""
        return char_matrix(pad(text, self.answer_width, self.padding), self.answer_width)
