"""The two framings of the tutorial: how problems become arrays and model outputs become answers.

`mapping`: scaled numbers in, one scaled number out (regression; the beginner's mistake).
`seq2seq`: one-hot characters in, a softmax over characters per output step out.
Both report answers in the same form (`Answers`), so evaluation does not care which one ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from addexp.encoding import Alphabet, argmax_indices
from addexp.models import Shapes
from addexp.problems import OperandSpace, Problems
from addexp.text import PAD, TextFormat, join_rows, parse_integers, render_integers


@dataclass(frozen=True)
class Answers:
    """Answers read off the model: as written (fixed width), as numbers, and whether valid."""

    chars: np.ndarray  # (n, answer_width) characters, as the model wrote them
    values: np.ndarray  # (n,) int64; 0 where invalid
    valid: np.ndarray  # (n,) bool: the output reads as one integer

    @property
    def text(self) -> np.ndarray:
        """Unpadded answers for people to read."""
        return np.strings.strip(join_rows(self.chars), PAD)


def expected_chars(text_format: TextFormat, problems: Problems) -> np.ndarray:
    """The right answers, laid out exactly as a perfect model would write them."""
    return text_format.answers(render_integers(problems.targets))


class Seq2SeqFraming:
    """Characters in, characters out: the tutorial's real sequence problem."""

    name = "seq2seq"
    loss = "categorical_crossentropy"
    metrics = ("accuracy",)

    def __init__(self, text_format: TextFormat, alphabet: Alphabet):
        self.text_format = text_format
        self.alphabet = alphabet

    @property
    def shapes(self) -> Shapes:
        fmt, n = self.text_format, len(self.alphabet)
        return Shapes((fmt.question_width, n), fmt.answer_width, n)

    def inputs(self, problems: Problems) -> np.ndarray:
        return self.alphabet.one_hot(self.alphabet.to_indices(self.text_format.questions(problems)))

    def targets(self, problems: Problems) -> np.ndarray:
        chars = expected_chars(self.text_format, problems)
        return self.alphabet.one_hot(self.alphabet.to_indices(chars))

    def answers(self, outputs: np.ndarray) -> Answers:
        chars = self.alphabet.to_chars(argmax_indices(outputs))
        values, valid = parse_integers(join_rows(chars))
        return Answers(chars, values, valid)


class MappingFraming:
    """Terms and sum divided by `terms * largest` (the tutorial's scaling), one term per step."""

    name = "mapping"
    loss = "mean_squared_error"
    metrics = ()

    def __init__(self, text_format: TextFormat, terms: int, scale: float):
        self.text_format = text_format  # only to score answers per character, as for seq2seq
        self.terms = terms
        self.scale = scale

    @property
    def shapes(self) -> Shapes:
        return Shapes((self.terms, 1))

    def inputs(self, problems: Problems) -> np.ndarray:
        return (problems.operands / self.scale).astype(np.float32)[..., None]

    def targets(self, problems: Problems) -> np.ndarray:
        return (problems.targets / self.scale).astype(np.float32)[:, None]

    def invert(self, scaled: np.ndarray) -> np.ndarray:
        """Back to integer units, rounded as the tutorial's invert() does."""
        return np.rint(np.asarray(scaled, dtype=np.float64).ravel() * self.scale).astype(np.int64)

    def answers(self, outputs: np.ndarray) -> Answers:
        values = self.invert(outputs)
        width = self.text_format.answer_width
        text = render_integers(values)
        fits = (
            np.strings.str_len(text) <= width
        )  # a sum too wide for the answer is wrong everywhere
        text = np.where(fits, text, "?" * width)
        return Answers(self.text_format.answers(text), values, np.ones(len(values), bool))


def make_framing(cfg, space: OperandSpace):
    """The framing the configured model family needs, built from the data section."""
    from addexp.models import MODELS

    text_format = TextFormat.for_space(space, cfg.data.padding, cfg.data.reverse_input)
    if MODELS[cfg.model.name].framing == "mapping":
        return MappingFraming(text_format, space.terms, float(space.terms * space.max_value))
    return Seq2SeqFraming(text_format, Alphabet.for_operators("+"))
