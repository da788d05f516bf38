"""Characters in, characters out: the tutorial's sequence framing (`seq2seq`: the whole answer
at once, a softmax per step) and the framing of a decoder that writes its answer one symbol at
a time, reading its previous one (`autoregressive`)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from addexp.framing.base import END, NO_ANSWER, START, Answers, Shapes, alphabet_for, expected_chars
from addexp.framing.encoding import (
    DIGITS,
    ENCODINGS,
    Alphabet,
    argmax_indices,
    encode_inputs,
)
from addexp.problems.space import Problems, ProblemSpace
from addexp.text.formats import (
    PAD,
    TextFormat,
    join_rows,
)
from addexp.text.hints import (
    NO_TAG,
    digit_places,
    hint_offsets,
    one_hot_tags,
    places_needed,
    with_tags,
)


def _answer_span(chars: np.ndarray, side: str) -> np.ndarray:
    """Where the answer and its one terminating pad sit: the run of symbols from the anchored
    end (right for left padding) up to and including the first pad."""
    ordered = chars[:, ::-1] if side == "left" else chars
    is_pad = ordered == PAD
    before_first_pad = np.cumsum(is_pad, axis=1) - is_pad == 0
    return before_first_pad[:, ::-1] if side == "left" else before_first_pad


class Seq2SeqFraming:
    """Characters in, characters out: the tutorial's real sequence problem.

    With `position_hints` N > 0 every question step's features (one-hot or integer encoding)
    are followed by N more: the one-hot position hint of its digit (`addexp.text.hints`; all zeros
    at a step that is not a digit), so the input has `len(alphabet) + N` (one-hot) or `1 + N`
    (integer) features per step. An embedding's input is symbol indices, with no room for
    them: validation refuses that combination."""

    name = "seq2seq"
    loss = "categorical_crossentropy"
    metrics = ("accuracy",)
    # What the framing can take (`addexp.models.compatibility` and `addexp.framing.reach` read
    # these, never the name):
    reads = "encoded characters"  # what a question step is, for messages
    encodings: tuple[str, ...] = ENCODINGS  # the encodings it reads
    masking = True  # padding steps can be hidden (encoding.masking)
    mask_loss_reason: str | None = None  # why train.mask_loss cannot apply (None: it can)
    sums_only: str | None = None  # None: any operations; else what it does with a sum
    fixed_order = False  # the place order is fixed: format.reverse_* cannot change it
    exact_below: int | None = None  # answers must stay below this magnitude to be exact
    input_slots: int | None = None  # terms a fixed number of input slots holds; None: any
    writes_end = False  # the answer ends with END, START and END are in the alphabet
    alphabet_bound = True  # reads and writes the run's alphabet (the training's symbols)

    def __init__(
        self,
        text_format: TextFormat,
        alphabet: Alphabet,
        encoding: str = "onehot",
        masking: bool = False,
        mask_loss: bool = False,
        space: ProblemSpace | None = None,
        position_hints: int = 0,
    ):
        self.text_format = text_format
        self.alphabet = alphabet
        self.encoding = encoding
        self.masking = masking
        self.mask_loss = mask_loss
        self.space = space  # the training space (its operations and brackets)
        self.position_hints = position_hints  # distinct hint values; 0: no hints

    @classmethod
    def configured(
        cls, cfg: Any, text_format: TextFormat, space: ProblemSpace, any_length: bool
    ) -> Seq2SeqFraming:
        """The framing a run's config asks for, in `text_format`, over the training `space`
        (kept only for a family that reads any length: its layouts widen from it)."""
        return cls(
            text_format,
            alphabet_for(space, cls.writes_end, text_format.format.symbols),
            cfg.encoding.name,
            cfg.encoding.masking,
            cfg.train.mask_loss,
            space if any_length else None,
            int(cfg.format.get("position_hints", 0)),
        )

    def fitted(self, space: ProblemSpace) -> Seq2SeqFraming:
        """The same framing with widths wide enough for every question of `space` (for
        families that read any length; `addexp.framing.layouts` picks the space of each question):
        this layout widened to `space`, never narrower. The training space (`self.space`:
        operations, brackets, the aligned format's term slots) stays as it is."""
        if self.space is None:
            return self
        wider = self.text_format.widened(space)
        if wider == self.text_format:
            return self
        fitted = copy.copy(self)
        fitted.text_format = wider
        return fitted

    @property
    def shapes(self) -> Shapes:
        fmt, n, hints = self.text_format, len(self.alphabet), self.position_hints
        features = {"onehot": (n + hints,), "integer": (1 + hints,), "embedding": ()}[self.encoding]
        return Shapes(
            input_shape=(fmt.question_width, *features),
            output_steps=fmt.answer_width,
            output_symbols=n,
            vocab=n if self.encoding == "embedding" else 0,
            mask_value=0.0 if self.masking else None,
            digits=tuple(self.alphabet.symbols.index(d) for d in DIGITS),
        )

    def inputs(self, problems: Problems) -> np.ndarray:
        """(n, question_width, features) encoded questions ((n, question_width) indices for an
        embedding), position hints appended to the features when on."""
        return self._questions(problems)[0]

    def _questions(self, problems: Problems) -> tuple[np.ndarray, np.ndarray | None]:
        """The encoded questions (`inputs`) and (n,) the hint offset of every row (None
        without position hints)."""
        chars = self.text_format.questions(problems)
        indices = self.alphabet.to_indices(chars)
        encoded = encode_inputs(indices, self.alphabet, self.encoding, self.masking)
        if not self.position_hints:
            return encoded, None
        tags, offsets = self._tags(problems, chars)
        return with_tags(encoded, tags, self.position_hints), offsets

    @property
    def tagged_answer_steps(self) -> int:
        """Answer steps that read a position hint: none (the answer is written at once)."""
        return 0

    def places_for(self, digits: np.ndarray | int) -> np.ndarray | int:
        """Tags questions whose widest operand has `digits` digits need in this layout: one per
        place, or one per answer step tagged if more (`addexp.text.hints.places_needed`)."""
        return places_needed(digits, self.tagged_answer_steps)

    def _needed(self, places: np.ndarray) -> np.ndarray:
        return self.places_for(places.max(axis=1, initial=NO_TAG) + 1)

    def _tags(self, problems: Problems, chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, question_width) the position hint of every step of the questions `chars` (as
        the model reads them; NO_TAG where no digit) and (n,) each row's offset. Raises
        ValueError for a question that needs more than `position_hints` tags."""
        places = digit_places(chars, self.text_format.reverse_input)
        offsets = hint_offsets(problems, self._needed(places), self.position_hints)
        return np.where(places == NO_TAG, NO_TAG, places + offsets[:, None]), offsets

    def targets(self, problems: Problems) -> np.ndarray:
        chars = self.text_format.model_order(expected_chars(self.text_format, problems))
        return self.alphabet.one_hot(self.alphabet.to_indices(chars))

    def sample_weights(self, problems: Problems) -> np.ndarray | None:
        """With `mask_loss`, padded answer steps beyond the terminating pad weigh 0."""
        if not self.mask_loss:
            return None
        span = _answer_span(expected_chars(self.text_format, problems), self.text_format.side)
        return self.text_format.model_order(span).astype(np.float32)

    def answers(self, outputs: np.ndarray) -> Answers:
        """(n, steps, symbols) softmax outputs -> answers. A row with any NaN or infinite
        output is no answer: written as '?' (no character right) and invalid."""
        indices = argmax_indices(outputs)
        chars = self.text_format.model_order(self.alphabet.to_chars(indices))
        if self.mask_loss:  # steps after the terminating pad were never trained: ignore them
            chars = np.where(_answer_span(chars, self.text_format.side), chars, PAD)
        finite = np.isfinite(outputs).all(axis=(1, 2))
        chars = np.where(finite[:, None], chars, NO_ANSWER)
        values, valid = self.text_format.read(chars)
        return Answers(chars, values, valid)


class AutoregressiveFraming(Seq2SeqFraming):
    """Characters in; the answer written one symbol at a time, each step reading the previous
    one (teacher forcing in training: the decoder reads the true previous symbol, `START` first).

    An answer is its digits in model order (least significant first with `reverse_output`),
    then `END`, then padding that is left out of the loss: so a decoder can stop early, or write
    an answer longer than any it was trained on. The alphabet holds `START` and `END` besides
    the question's symbols. Training inputs are a dict: `question` (encoded as configured) and
    `answer_in` (symbol indices, shifted by one step) and, with position hints (which need
    `reverse_output`: step t then writes place t), `answer_hint`: (n, answer_width + 1,
    position_hints) the one-hot hint offset + t of every step t, END's step and the padding
    after it included, so decoding may write as many steps as the layout allows."""

    name = "autoregressive"
    writes_end = True
    mask_loss_reason = "the decoder always leaves the steps after the answer's END out of the loss"

    @property
    def shapes(self) -> Shapes:
        base = super().shapes
        return Shapes(
            base.input_shape,
            self.text_format.answer_width + 1,  # the answer and its END
            base.output_symbols,
            base.vocab,
            base.mask_value,
            self.position_hints,
            base.digits,
        )

    @property
    def tagged_answer_steps(self) -> int:
        """Every step decoding may write: the layout's answer width and END."""
        return self.text_format.answer_width + 1

    def answer_tokens(self, problems: Problems) -> np.ndarray:
        """(n, answer_width + 1) symbol indices: the answer in model order, END, padding."""
        width, n = self.text_format.answer_width, len(problems)
        written = self.text_format.format
        if self.text_format.reverse_output:  # digits reversed, then the padding
            chars = written.answer_chars(problems.targets, width, "left")[:, ::-1]
        else:
            chars = written.answer_chars(problems.targets, width, "right")
        lengths = (chars != PAD).sum(axis=1)
        chars = np.concatenate([chars, np.full((n, 1), PAD)], axis=1)
        chars[np.arange(n), lengths] = END
        return self.alphabet.to_indices(chars)

    def inputs(self, problems: Problems) -> dict[str, np.ndarray]:
        """Teacher forcing's inputs: `question` as `Seq2SeqFraming.inputs` gives it (with its
        hints), `answer_in` (n, answer_width + 1) int32, START then the answer's tokens but the
        last, and with position hints `answer_hint` (n, answer_width + 1, position_hints)."""
        tokens = self.answer_tokens(problems)
        start = np.full((len(tokens), 1), self.alphabet.symbols.index(START), np.int32)
        question, offsets = self._questions(problems)
        arrays = {"question": question, "answer_in": np.concatenate([start, tokens[:, :-1]], 1)}
        if offsets is not None:
            steps = offsets[:, None] + np.arange(tokens.shape[1])
            arrays["answer_hint"] = one_hot_tags(steps, self.position_hints)
        return arrays

    def question_inputs(self, problems: Problems) -> np.ndarray:
        """The encoder's input alone (decoding writes `answer_in` step by step)."""
        return super().inputs(problems)

    def answer_offsets(self, problems: Problems) -> np.ndarray:
        """(n,) the position hint of each answer's first step (decoding adds one per step).
        Raises ValueError without position hints, or for a question that needs more."""
        if not self.position_hints:
            raise ValueError("the framing has no position hints")
        return self._tags(problems, self.text_format.questions(problems))[1]

    def targets(self, problems: Problems) -> np.ndarray:
        """(n, answer_width + 1, symbols) float32 one-hot: the answer, END, padding."""
        return self.alphabet.one_hot(self.answer_tokens(problems))

    def sample_weights(self, problems: Problems) -> np.ndarray:
        """Every step up to and including END weighs 1; the padding after it 0."""
        tokens = self.answer_tokens(problems)
        ended = np.cumsum(tokens == self.alphabet.symbols.index(END), axis=1)
        after_end = (ended - (tokens == self.alphabet.symbols.index(END))) > 0
        return (~after_end).astype(np.float32)

    def answers_from_tokens(
        self, tokens: np.ndarray, log_prob: np.ndarray | None = None
    ) -> Answers:
        """Answers from decoded symbol indices (n, steps) in model order: everything before the
        first END (an answer that never ends, or is wider than the layout, reads as invalid),
        with the search's (n,) log-probability of each, if given."""
        chars = self.alphabet.to_chars(tokens)
        is_end = chars == END
        before_end = np.cumsum(is_end, axis=1) == 0
        ended = is_end.any(axis=1)
        chars = np.where(before_end, chars, PAD)
        if self.text_format.reverse_output:
            chars = chars[:, ::-1]
        text = np.strings.strip(join_rows(chars), PAD)
        width = self.text_format.answer_width
        fits = ended & (np.strings.str_len(text) <= width) & (np.strings.find(text, PAD) < 0)
        text = np.where(fits, text, "?" * width)
        laid_out = self.text_format.answers(text)
        values, valid = self.text_format.read(laid_out)
        return Answers(laid_out, values, valid & fits, log_prob)
