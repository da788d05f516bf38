"""What every framing reports and needs: the shapes a model is built for, the answers read off
its outputs, the right answers as a perfect model writes them, and the run's alphabet."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from addexp.framing.encoding import (
    Alphabet,
)
from addexp.problems.operations import symbols_of
from addexp.problems.space import Problems, ProblemSpace
from addexp.text.formats import (
    PAD,
    TextFormat,
    join_rows,
)

NO_ANSWER = "?"  # written where an output reads as no symbol (never a right character)


@dataclass(frozen=True)
class Shapes:
    """What a model needs to know about the data: inputs, outputs, embedding and masking."""

    input_shape: tuple[int, ...]
    output_steps: int = 1
    output_symbols: int = 1
    vocab: int = 0  # > 0: inputs are symbol indices for an Embedding layer of this many rows
    mask_value: float | None = None  # not None: hide steps equal to it (index 0 for embeddings)
    answer_hints: int = 0  # > 0: each answer step also reads a one-hot position hint this wide
    digits: tuple[int, ...] = ()  # the digits' symbol indices (a family that finds digits)


@dataclass(frozen=True)
class Answers:
    """Answers read off the model: as written (fixed width), as numbers, whether valid, and,
    from a decoder that writes symbol by symbol, each answer's log-probability under the model
    (natural log, the sum over the symbols it wrote, END included); None from a one-pass model."""

    chars: np.ndarray  # (n, answer_width) characters in reading order
    values: np.ndarray  # (n,) exact integers; 0 where invalid
    valid: np.ndarray  # (n,) bool: the output reads as one integer
    log_prob: np.ndarray | None = None  # (n,) float, <= 0

    @property
    def text(self) -> np.ndarray:
        """Unpadded answers for people to read."""
        return np.strings.strip(join_rows(self.chars), PAD)


def expected_chars(text_format: TextFormat, problems: Problems) -> np.ndarray:
    """The right answers, laid out (in reading order) exactly as a perfect model writes them."""
    return text_format.answers_of(problems.targets)


START, END = "^", "$"  # the decoder's first input, and the symbol that ends every answer


def alphabet_for(
    space: ProblemSpace, writes_end: bool = False, answer_symbols: str = ""
) -> Alphabet:
    """Digits, pad, the operators' symbols, brackets if any, '-' if answers can be < 0, the
    symbols a format writes in its answers (`Format.symbols`), and START and END for a decoder
    that reads its own output."""
    extra = symbols_of(space.operations) + ("()" if space.brackets else "")
    extra += "-" if space.value_range()[0] < 0 else ""
    extra += answer_symbols
    return Alphabet.for_symbols(extra + (START + END if writes_end else ""))
