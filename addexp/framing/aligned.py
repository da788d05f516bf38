"""The aligned framing: the place values of every operand lined up, least significant first, one
answer digit per place."""

from __future__ import annotations

import numpy as np

from addexp.framing.base import NO_ANSWER, Answers, Shapes
from addexp.framing.encoding import (
    DIGITS,
    argmax_indices,
    one_hot,
)
from addexp.framing.sequence import Seq2SeqFraming
from addexp.problems.space import MISSING, Problems
from addexp.text.formats import (
    join_rows,
)


class AlignedFraming(Seq2SeqFraming):
    """Place values aligned: input step i holds the digit of place value 10**i of every operand
    (one-hot, one slot per term; absent digits and terms are 0, which adds nothing), and output
    step i is the answer's digit of that place. Least significant place first, so the carry
    into step i comes from step i - 1: the layout in which a recurrent tagger can add numbers
    of any length (the "aligned" input of Kaiser & Sutskever 2016 and of the digit-alignment
    studies since). Sums only; the question is still typed and shown as plain text."""

    name = "aligned"
    reads = "one-hot digits of every place (zeros add nothing, so nothing is padding)"
    encodings = ("onehot",)
    masking = False
    mask_loss_reason = "every place is an answer digit: there is no answer padding"
    sums_only = "lines up the place values of a sum"
    fixed_order = True

    @property
    def input_slots(self) -> int:
        """Terms an input step holds: the training space's most."""
        return self.slots

    @property
    def steps(self) -> int:
        """Places: the answer's width (a sum is never shorter than its operands)."""
        return self.text_format.answer_width

    @property
    def slots(self) -> int:
        """Terms an input step holds (the training space's most): fixed by the trained model."""
        return self.space.max_terms if self.space is not None else 2

    @property
    def shapes(self) -> Shapes:
        return Shapes((self.steps, self.slots * 10), self.steps, 10)

    def _places(self, values: np.ndarray) -> np.ndarray:
        """(..., steps) decimal digits of non-negative integers, least significant first."""
        text = np.strings.rjust(np.asarray(values).astype(str), self.steps, "0")
        chars = np.ascontiguousarray(text, dtype=f"<U{self.steps}").view("<U1")
        digits = chars.reshape(*np.shape(values), self.steps).view(np.uint32) - ord("0")
        return digits[..., ::-1].astype(np.int64)

    def inputs(self, problems: Problems) -> np.ndarray:
        """(n, places, slots * 10) float32: at step i the one-hot digit of place 10**i of every
        operand slot in turn (all zeros where a term or a digit is absent)."""
        operands = np.where(problems.operands == MISSING, 0, problems.operands)
        digits = self._places(operands)  # (n, terms, steps)
        terms = self.slots
        if digits.shape[1] < terms:  # fewer terms than the model's slots: the rest are 0
            digits = np.pad(digits, ((0, 0), (0, terms - digits.shape[1]), (0, 0)))
        vectors = one_hot(digits, 10)  # (n, terms, steps, 10)
        return vectors.transpose(0, 2, 1, 3).reshape(len(problems), self.steps, terms * 10)

    def targets(self, problems: Problems) -> np.ndarray:
        """(n, places, 10) float32 one-hot: the answer's digit of each place, least first."""
        return one_hot(self._places(problems.targets), 10)

    def sample_weights(self, problems: Problems) -> None:
        return None

    def answers(self, outputs: np.ndarray) -> Answers:
        """(n, places, 10) softmax outputs, least significant place first -> answers laid
        out as text. A row with any NaN or infinite output is no answer: written as '?' and
        invalid, as in the other framings."""
        digits = argmax_indices(outputs)[:, ::-1]  # most significant first
        text = join_rows(np.array(list(DIGITS), dtype="<U1")[digits])
        text = np.strings.lstrip(text, "0")
        text = np.where(np.strings.str_len(text) == 0, "0", text)
        laid_out = self.text_format.answers(text)
        finite = np.isfinite(outputs).all(axis=(1, 2))
        laid_out = np.where(finite[:, None], laid_out, NO_ANSWER)
        values, valid = self.text_format.read(laid_out)
        return Answers(laid_out, values, valid)
