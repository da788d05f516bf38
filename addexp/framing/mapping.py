"""The mapping framing: scaled numbers in, one scaled number out (regression; the tutorial's
beginner's mistake)."""

from __future__ import annotations

from typing import Any

import numpy as np

from addexp.framing.base import NO_ANSWER, Answers, Shapes
from addexp.problems.space import MISSING, Problems, ProblemSpace
from addexp.text.formats import (
    TextFormat,
)

MAPPING_PAD = -1.0  # input value of a missing term (scaled terms lie in [0, 1])


class MappingFraming:
    """Terms and sum divided by `max_terms * largest` (the tutorial's scaling), one term per
    step; missing terms (variable term counts) are MAPPING_PAD, hidden when masking."""

    name = "mapping"
    loss = "mean_squared_error"
    metrics = ()
    reads = "scaled numbers, one term per step"
    encodings = ("onehot",)  # the default, which this framing does not read
    masking = True
    mask_loss_reason = "the answer is one number: there is no answer padding"
    sums_only = "adds scaled terms"
    fixed_order = False
    alphabet_bound = False
    position_hints = 0  # reads numbers, not digits: nothing to tag
    exact_below = 2**53  # a float64 regression target is exact below this

    @property
    def input_slots(self) -> int:
        """Terms the input holds: the training space's most."""
        return self.terms

    def __init__(self, text_format: TextFormat, terms: int, scale: float, masking: bool = False):
        self.text_format = text_format  # only to score answers per character, as for seq2seq
        self.terms = terms
        self.scale = scale
        self.masking = masking

    @classmethod
    def configured(
        cls, cfg: Any, text_format: TextFormat, space: ProblemSpace, any_length: bool
    ) -> MappingFraming:
        """The framing a run's config asks for: terms scaled by `max_terms * largest` of the
        training `space`."""
        scale = float(space.max_terms * space.max_value)
        return cls(text_format, space.max_terms, scale, cfg.encoding.masking)

    @property
    def shapes(self) -> Shapes:
        return Shapes((self.terms, 1), mask_value=MAPPING_PAD if self.masking else None)

    def inputs(self, problems: Problems) -> np.ndarray:
        scaled = problems.operands / self.scale
        return np.where(problems.operands == MISSING, MAPPING_PAD, scaled).astype(np.float32)[
            ..., None
        ]

    def targets(self, problems: Problems) -> np.ndarray:
        return (problems.targets.astype(np.float64) / self.scale).astype(np.float32)[:, None]

    def sample_weights(self, problems: Problems) -> None:
        return None

    def invert(self, scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 1) scaled outputs -> (values, valid), (n,) each: back to integer units, rounded
        as the tutorial's invert() does. An output that is NaN, infinite or beyond int64 once
        scaled is no number: value 0, invalid (cast as it is, NaN would read as -2**63)."""
        with np.errstate(over="ignore", invalid="ignore"):
            raw = np.rint(np.asarray(scaled, dtype=np.float64).ravel() * self.scale)
            valid = np.isfinite(raw) & (np.abs(raw) < 2.0**63)
        return np.where(valid, raw, 0.0).astype(np.int64), valid

    def answers(self, outputs: np.ndarray) -> Answers:
        values, valid = self.invert(outputs)
        width = self.text_format.answer_width
        text = self.text_format.format.text(values)
        fits = valid & (np.strings.str_len(text) <= width)  # too wide for the answer: all wrong
        text = np.where(fits, text, NO_ANSWER * width)
        return Answers(self.text_format.answers(text), values, valid)
