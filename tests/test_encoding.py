"""Encodings: indices and one-hot decode back to the exact text; unknown symbols are refused."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.encoding import Alphabet, argmax_indices
from addexp.framings import Seq2SeqFraming, expected_chars
from addexp.problems import OperandSpace, sample
from addexp.text import TextFormat, join_rows

ALPHABET = Alphabet.for_operators("+")


def test_alphabet_is_the_keras_examples_sorted_twelve_with_pad_first():
    assert ALPHABET.symbols == " +0123456789"
    assert len(ALPHABET) == 12


@given(
    text=st.lists(st.text(alphabet=" +0123456789", min_size=6, max_size=6), min_size=1, max_size=20)
)
@settings(max_examples=60, deadline=None)
def test_indices_and_one_hot_decode_back_to_the_text(text):
    chars = np.array([list(t) for t in text], dtype="<U1")
    indices = ALPHABET.to_indices(chars)
    one_hot = ALPHABET.one_hot(indices)
    assert one_hot.shape == (len(text), 6, 12)
    assert (one_hot.sum(-1) == 1).all()
    assert join_rows(ALPHABET.to_chars(argmax_indices(one_hot))).tolist() == text
    assert join_rows(ALPHABET.to_chars(indices)).tolist() == text


def test_unknown_symbols_are_refused_by_name():
    try:
        ALPHABET.to_indices(np.array([["1", "*", "2"]]))
    except ValueError as error:
        assert "'*'" in str(error)
    else:
        raise AssertionError("a symbol outside the alphabet must not be encoded")


@given(
    seed=st.integers(0, 2**32 - 1),
    padding=st.sampled_from(["left", "right"]),
    reverse=st.booleans(),
    largest=st.integers(2, 999),
)
@settings(max_examples=40, deadline=None)
def test_seq2seq_targets_decode_to_the_true_answers(seed, padding, reverse, largest):
    space = OperandSpace(terms=3, mode="range", low=0, largest=largest)
    framing = Seq2SeqFraming(TextFormat.for_space(space, padding, reverse), ALPHABET)
    problems = sample(space, 100, np.random.default_rng(seed))
    x, y = framing.inputs(problems), framing.targets(problems)
    assert x.shape == (100, *framing.shapes.input_shape)
    assert y.shape == (100, framing.shapes.output_steps, framing.shapes.output_symbols)
    answers = framing.answers(y)  # a perfect model's output
    assert answers.valid.all()
    assert answers.values.tolist() == problems.targets.tolist()
    assert answers.text.tolist() == problems.targets.astype(str).tolist()
    assert (answers.chars == expected_chars(framing.text_format, problems)).all()
