"""Encodings: every encoding, padding and reversal decodes back to the exact text and answer."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.framing.base import alphabet_for, expected_chars
from addexp.framing.encoding import ENCODINGS, Alphabet, argmax_indices, encode_inputs, one_hot
from addexp.framing.sequence import Seq2SeqFraming
from addexp.problems.sampling import sample
from addexp.problems.space import ProblemSpace
from addexp.text.formats import PADDINGS, TextFormat, join_rows
from tests.strategies import spaces

SUMS = Alphabet.for_symbols("+")


def test_alphabet_for_sums_is_the_keras_examples_sorted_twelve_with_pad_first():
    assert SUMS.symbols == " +0123456789"
    assert alphabet_for(ProblemSpace()) == SUMS
    wide = alphabet_for(ProblemSpace(2, 3, operations=("-", "//"), brackets=1))
    assert wide.symbols == " ()-/0123456789"


@given(
    text=st.lists(st.text(alphabet=" +0123456789", min_size=6, max_size=6), min_size=1, max_size=20)
)
@settings(max_examples=60, deadline=None)
def test_indices_and_one_hot_decode_back_to_the_text(text):
    chars = np.array([list(t) for t in text], dtype="<U1")
    indices = SUMS.to_indices(chars)
    one_hot = SUMS.one_hot(indices)
    assert one_hot.shape == (len(text), 6, 12)
    assert (one_hot.sum(-1) == 1).all()
    assert join_rows(SUMS.to_chars(argmax_indices(one_hot))).tolist() == text
    assert join_rows(SUMS.to_chars(indices)).tolist() == text


@given(
    depth=st.integers(1, 20),
    shape=st.lists(st.integers(0, 6), min_size=1, max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=40, deadline=None)
def test_one_hot_is_the_identity_row_of_every_index(depth, shape, seed):
    indices = np.random.default_rng(seed).integers(0, depth, size=shape).astype(np.int32)
    vectors = one_hot(indices, depth)
    expected = np.eye(depth, dtype=np.float32)[indices]
    assert vectors.dtype == np.float32 and vectors.shape == (*shape, depth)
    assert (vectors == expected).all()


def test_input_encodings_and_what_masking_hides():
    indices = np.array([[0, 0, 3, 1, 4]])  # "  1+2" with pad at index 0
    onehot = encode_inputs(indices, SUMS, "onehot", masking=False)
    assert onehot.shape == (1, 5, 12) and onehot[0, 0, 0] == 1.0
    masked = encode_inputs(indices, SUMS, "onehot", masking=True)
    assert (masked[0, :2] == 0).all() and (masked[0, 2:].sum(-1) == 1).all()
    integer = encode_inputs(indices, SUMS, "integer", masking=True)
    assert integer.shape == (1, 5, 1)
    assert np.allclose(integer[0, :, 0], [0, 0, 3 / 11, 1 / 11, 4 / 11])
    assert (encode_inputs(indices, SUMS, "embedding", masking=True) == indices).all()


def test_unknown_symbols_are_refused_by_name():
    try:
        SUMS.to_indices(np.array([["1", "*", "2"]]))
    except ValueError as error:
        assert "'*'" in str(error)
    else:
        raise AssertionError("a symbol outside the alphabet must not be encoded")


@given(
    space=spaces(max_terms=4),
    seed=st.integers(0, 2**32 - 1),
    padding=st.sampled_from(PADDINGS),
    reverse_input=st.booleans(),
    reverse_output=st.booleans(),
    encoding=st.sampled_from(ENCODINGS),
    masking=st.booleans(),
)
@settings(max_examples=80, deadline=None)
def test_seq2seq_arrays_have_the_computed_shapes_and_decode_to_the_answers(
    space, seed, padding, reverse_input, reverse_output, encoding, masking
):
    fmt = TextFormat.for_spaces([space], padding, reverse_input, reverse_output)
    framing = Seq2SeqFraming(fmt, alphabet_for(space), encoding, masking)
    problems = sample(space, 60, np.random.default_rng(seed))
    x, y = framing.inputs(problems), framing.targets(problems)
    shapes = framing.shapes
    assert x.shape == (60, *shapes.input_shape)
    assert y.shape == (60, shapes.output_steps, shapes.output_symbols)
    assert shapes.input_shape[0] == fmt.question_width
    assert shapes.output_steps == fmt.answer_width

    questions = fmt.questions(problems)
    pad_steps = questions == " "
    if masking:  # exactly the padding steps (and only they) carry the mask value / index 0
        hidden = x == 0 if encoding == "embedding" else (x == 0).all(axis=-1)
        assert (hidden == pad_steps).all()
    if encoding == "embedding":
        assert join_rows(framing.alphabet.to_chars(x)).tolist() == join_rows(questions).tolist()

    answers = framing.answers(y)  # a perfect model's output
    assert answers.valid.all()
    assert [int(v) for v in answers.values] == [int(v) for v in problems.targets]
    assert answers.text.tolist() == [str(v) for v in problems.targets]
    assert (answers.chars == expected_chars(fmt, problems)).all()


def test_loss_mask_keeps_the_answer_and_its_terminating_pad():
    space = ProblemSpace(2, 2, low=1, largest=60)  # answers up to 120: width 3
    for padding, reverse_output, expected in [
        ("left", False, [[1, 1, 1], [0, 1, 1]]),  # "120" ; " 7" + terminator
        ("right", False, [[1, 1, 1], [1, 1, 0]]),
        ("right", True, [[1, 1, 1], [0, 1, 1]]),
    ]:
        fmt = TextFormat.for_spaces([space], padding, False, reverse_output)
        framing = Seq2SeqFraming(fmt, SUMS, mask_loss=True)
        from addexp.problems.space import Problems

        p = Problems(np.array([[60, 60], [3, 4]]), np.array(["#+#", "#+#"]), np.array([120, 7]))
        assert framing.sample_weights(p).tolist() == expected, padding
        noisy = framing.targets(p).copy()
        noisy[:, :, :] = 0
        noisy[np.asarray(expected) == 0, 5] = 1  # untrained steps write '3'
        for i, row in enumerate(framing.targets(p)):
            noisy[i][np.asarray(expected[i]) == 1] = row[np.asarray(expected[i]) == 1]
        assert framing.answers(noisy).values.tolist() == [120, 7]
