"""Writing problems as fixed-width character strings, and reading answers back.

Everything works on whole arrays: int64 problems and answers are written straight into
character codes (`addexp.problems.codes`), Python integers (beyond int64) and parsing go through
NumPy's
string functions (`np.strings`), both in C. Widths are exact: the length of the longest string
any of the run's problem spaces (training and every evaluation set) can produce, so one layout
serves them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from addexp.problems.codes import as_chars, expression_codes, integer_codes
from addexp.problems.operations import OPERATIONS
from addexp.problems.space import SLOT, Problems, ProblemSpace
from addexp.registry import Registry

PAD = " "  # the pad symbol, also between per-term padded operands (Problems.questions)
PADDINGS = ("left", "right", "per_term", "none")  # "none": right-padded for batching, masked


def render_expressions(problems: Problems, operand_width: int = 0) -> np.ndarray:
    """(n,) questions such as '7+10' or '(3-12)*4', unpadded; with `operand_width` every operand
    is left-padded to that width (' 7+10': the tutorial's per-term padding)."""
    return problems.questions(operand_width)


def render_integers(values: np.ndarray) -> np.ndarray:
    """Answers as decimal strings, unpadded."""
    return np.asarray(values).astype(str)


def integer_chars(
    values: np.ndarray, width: int, side: str = "left", reverse: bool = False
) -> np.ndarray:
    """(n, width) characters of the values' decimal text, padded on `side` ('left':
    right-aligned) and, with `reverse`, last character first. int64 values are written
    straight into character codes (`addexp.problems.codes`), Python integers as strings. Raises
    ValueError for a value wider than `width`."""
    values = np.asarray(values)
    if values.dtype == np.int64:
        return as_chars(integer_codes(values, width, side, ord(PAD), reverse))
    chars = char_matrix(pad(render_integers(values), width, side), width)
    return chars[:, ::-1] if reverse else chars


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
    digits = int(np.strings.str_len(core[valid]).max(initial=0))
    if digits <= 18:
        values = np.zeros(len(text), dtype=np.int64)
        values[valid] = core[valid].astype(np.int64)
    else:  # beyond int64: exact Python integers
        values = np.zeros(len(text), dtype=object)
        values[valid] = [int(s) for s in core[valid].tolist()]
    return values, valid


def _bracket_pairs(terms: int, space: ProblemSpace) -> int:
    """Most bracket pairs an expression of `terms` operands can need within the depth limit
    (an upper bound: each split may bracket either side if some operator pair requires it)."""
    if not space.brackets or terms < 3:
        return 0
    levels = {OPERATIONS[o].precedence for o in space.operations}
    left_ok = len(levels) > 1  # (a+b)*c needs a lower-precedence child
    right_ok = left_ok or any(_foreign_right(o, space.operations) for o in space.operations)
    best: dict[tuple[int, int], int] = {}
    for k in range(1, terms + 1):
        for d in range(space.brackets + 1):
            if k == 1:
                best[k, d] = 0
                continue

            def side(m: int, ok: bool, d: int = d) -> int:
                wrapped = 1 + best[m, d - 1] if ok and m > 1 and d > 0 else 0
                return max(best[m, d], wrapped)

            best[k, d] = max(side(i, left_ok) + side(k - i, right_ok) for i in range(1, k))
    return best[terms, space.brackets]


def _foreign_right(symbol: str, operations: tuple[str, ...]) -> bool:
    """Whether `symbol` can have a right operand that needs brackets at its own precedence: an
    operation of that precedence it does not associate with (a-(b+c), a*(b//c))."""
    op = OPERATIONS[symbol]
    level = {o for o in operations if OPERATIONS[o].precedence == op.precedence}
    return bool(level - op.associates_with)


def question_width(space: ProblemSpace, operand_width: int = 0) -> int:
    """Characters in the longest question: widest operands (at least `operand_width` each, for
    per-term padding), longest operators, most brackets."""
    op_len = max(len(o) for o in space.operations)
    digits = max(space.max_operand_digits, operand_width)
    return max(k * digits + (k - 1) * op_len + 2 * _bracket_pairs(k, space) for k in space.terms)


@dataclass(frozen=True)
class Format:
    """A way of writing problems, chosen with the `format` group (`format.name`).

    `framings`: the framings it is written for (a family trained in another framing cannot
    read it); `position_hints`: its question digits can carry position hints
    (`addexp.text.hints`). It owns how an answer is written and read: `text(values)` gives
    (n,) unpadded answer strings of (n,) exact integers; `read(text)` gives (values, valid)
    of (n,) padded strings (value 0 where a row does not read as an answer; padding is
    `PAD`); `symbols` are the characters its answers add to the alphabet besides digits, '-'
    and the pad; `write(values, width, side)`, if given, writes (n, width) padded characters
    faster than padding `text` (it must give the same characters). The answer width of a
    space follows from `text` of its extreme values (an answer's length grows with its
    magnitude)."""

    name: str
    description: str
    framings: tuple[str, ...]
    position_hints: bool = False
    text: Callable[[np.ndarray], np.ndarray] = render_integers
    read: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] = parse_integers
    symbols: str = ""
    write: Callable[[np.ndarray, int, str], np.ndarray] | None = None

    def answer_width(self, space: ProblemSpace) -> int:
        """Characters in the longest answer of `space`, sign included."""
        lo, hi = space.value_range()
        return int(np.strings.str_len(self.text(np.array([lo, hi], dtype=object))).max())

    def answer_chars(self, values: np.ndarray, width: int, side: str) -> np.ndarray:
        """(n, width) characters of the values' answers padded on `side`, in reading order.
        Raises ValueError for an answer wider than `width`."""
        if self.write is not None:
            return self.write(values, width, side)
        return char_matrix(pad(self.text(values), width, side), width)

    def __repr__(self) -> str:
        return f"Format({self.name!r})"


PLAIN = Format(
    "plain",
    "the question as typed ('7+10') and its answer ('17'), padded to fixed widths",
    ("seq2seq", "autoregressive", "mapping"),
    position_hints=True,
    write=integer_chars,
)
ALIGNED = Format(
    "aligned",
    "the place values of every operand lined up, least significant first, one answer digit "
    "per place",
    ("aligned",),
    write=integer_chars,
)
FORMATS: Registry[Format] = Registry(
    "text format",
    "addexp.formats",
    Format,
    {"plain": "addexp.text.formats:PLAIN", "aligned": "addexp.text.formats:ALIGNED"},
)


@dataclass(frozen=True)
class TextFormat:
    """How questions and answers are laid out as fixed-width strings."""

    question_width: int
    answer_width: int
    padding: str = "left"
    reverse_input: bool = False
    reverse_output: bool = False
    operand_width: int = 0  # > 0 only for per-term padding
    format: Format = PLAIN  # how its answers are written and read

    @classmethod
    def for_spaces(
        cls,
        spaces: list[ProblemSpace],
        padding: str = "left",
        reverse_input: bool = False,
        reverse_output: bool = False,
        written: Format = PLAIN,
    ) -> TextFormat:
        """The one layout that fits every space given (training first, then evaluation sets):
        widths are the largest any of them needs."""
        per_term = max(s.max_operand_digits for s in spaces) if padding == "per_term" else 0
        return cls(
            max(question_width(s, per_term) for s in spaces),
            max(written.answer_width(s) for s in spaces),
            padding,
            reverse_input,
            reverse_output,
            per_term,
            written,
        )

    def widened(self, space: ProblemSpace) -> TextFormat:
        """This layout with its widths raised to what `space` needs (never lowered)."""
        per_term = max(self.operand_width, space.max_operand_digits) if self.operand_width else 0
        return replace(
            self,
            question_width=max(self.question_width, question_width(space, per_term)),
            answer_width=max(self.answer_width, self.format.answer_width(space)),
            operand_width=per_term,
        )

    @property
    def side(self) -> str:
        """Where the pad symbols go for the whole string."""
        return "left" if self.padding in ("left", "per_term") else "right"

    def questions(self, problems: Problems) -> np.ndarray:
        """(n, question_width) characters exactly as the model reads them: int64 operands
        written straight into character codes (`addexp.problems.codes`), Python integers as strings.
        Raises ValueError for a question wider than `question_width`."""
        if problems.operands.dtype == np.int64:
            codes = expression_codes(
                problems.operands,
                problems.templates,
                self.question_width,
                self.side,
                ord(PAD),
                self.operand_width,
                self.reverse_input,
                SLOT,
            )
            return as_chars(codes)
        text = render_expressions(problems, self.operand_width)
        chars = char_matrix(pad(text, self.question_width, self.side), self.question_width)
        return chars[:, ::-1] if self.reverse_input else chars

    def answers(self, text: np.ndarray) -> np.ndarray:
        """(n, answer_width) characters of padded answers (unpadded strings in), in reading
        order; `model_order` applies the output reversal."""
        return char_matrix(pad(text, self.answer_width, self.side), self.answer_width)

    def answers_of(self, values: np.ndarray) -> np.ndarray:
        """(n, answer_width) characters of the values' padded decimal answers, in reading
        order: the same as `answers(self.format.text(values))`. Raises ValueError for an
        answer wider than `answer_width`."""
        return self.format.answer_chars(values, self.answer_width, self.side)

    def read(self, chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, valid) of (n, width) answer characters in reading order (`Format.read`)."""
        return self.format.read(join_rows(chars))

    def model_order(self, answer_chars: np.ndarray) -> np.ndarray:
        """Reading order <-> the order the model writes (least significant digit first when
        `reverse_output`); its own inverse."""
        return answer_chars[:, ::-1] if self.reverse_output else answer_chars
