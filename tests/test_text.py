"""Rendering: exact widths, padding, reversal, and answers read back as the right integers."""

from __future__ import annotations

import itertools
from math import ceil, log10

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.problems import OperandSpace, Problems, sample
from addexp.text import (
    TextFormat,
    answer_width,
    char_matrix,
    join_rows,
    pad,
    parse_integers,
    question_width,
    render_expressions,
)
from tests.reference_eval import evaluate

spaces = st.builds(
    lambda terms, low, span, mode, digits: OperandSpace(
        terms=terms, mode=mode, low=low, largest=low + span, min_digits=1, max_digits=digits
    ),
    terms=st.integers(1, 5),
    low=st.integers(0, 30),
    span=st.integers(1, 10**5),
    mode=st.sampled_from(["range", "digits"]),
    digits=st.integers(1, 5),
)


@given(
    space=spaces,
    seed=st.integers(0, 2**32 - 1),
    padding=st.sampled_from(["left", "right"]),
    reverse=st.booleans(),
)
@settings(max_examples=80, deadline=None)
def test_every_rendered_question_evaluates_to_its_target(space, seed, padding, reverse):
    problems = sample(space, 200, np.random.default_rng(seed))
    fmt = TextFormat.for_space(space, padding, reverse)
    chars = fmt.questions(problems)
    assert chars.shape == (200, fmt.question_width)
    text = join_rows(chars[:, ::-1] if reverse else chars)
    assert [evaluate(t) for t in text] == problems.targets.tolist()
    stripped = [t.strip() for t in text]
    if padding == "left":
        assert all(t.endswith(s) for t, s in zip(text, stripped, strict=True))
    else:
        assert all(t.startswith(s) for t, s in zip(text, stripped, strict=True))
    answers = fmt.answers(problems.targets.astype(str))
    assert answers.shape == (200, fmt.answer_width)
    values, valid = parse_integers(join_rows(answers))
    assert valid.all() and values.tolist() == problems.targets.tolist()


@given(terms=st.integers(1, 4), low=st.integers(0, 5), largest=st.integers(5, 120))
@settings(max_examples=60, deadline=None)
def test_widths_are_those_of_the_longest_possible_strings(terms, low, largest):
    space = OperandSpace(terms=terms, mode="range", low=low, largest=largest)
    values = np.arange(low, largest + 1)
    longest_question = max(len(str(v)) for v in values) * terms + terms - 1
    assert question_width(space) == longest_question
    assert answer_width(space) == len(str(largest * terms))


def test_widths_match_the_tutorial_where_its_formula_is_right_and_fix_it_where_not():
    tutorial = OperandSpace(terms=2, mode="range", low=1, largest=10)
    assert (question_width(tutorial), answer_width(tutorial)) == (5, 2)
    revised = OperandSpace(terms=3, mode="range", low=1, largest=10)
    assert (question_width(revised), answer_width(revised)) == (8, 2)
    keras_example = OperandSpace(terms=2, mode="digits", min_digits=1, max_digits=3)
    assert (question_width(keras_example), answer_width(keras_example)) == (7, 4)
    # ceil(log10(terms * (largest + 1))) over-counts here: 3 * 33 = 99 needs 2 characters.
    odd = OperandSpace(terms=3, mode="range", low=1, largest=33)
    assert ceil(log10(3 * 34)) == 3 and answer_width(odd) == 2


def test_all_problems_of_a_small_space_render_within_the_width():
    space = OperandSpace(terms=3, mode="range", low=0, largest=12)
    operands = np.array(list(itertools.product(range(13), repeat=3)), dtype=np.int64)
    lengths = np.strings.str_len(render_expressions(operands))
    assert lengths.max() == question_width(space)


def test_padding_and_reversal_layout():
    fmt = TextFormat(question_width=5, answer_width=2, padding="left", reverse_input=False)
    p = Problems(np.array([[7, 10], [1, 1]]), np.array([17, 2]))
    assert join_rows(fmt.questions(p)).tolist() == [" 7+10", "  1+1"]
    right = TextFormat(7, 4, "right", reverse_input=True)  # the Keras example's layout
    assert join_rows(right.questions(p)).tolist() == ["   01+7", "    1+1"]
    assert join_rows(right.answers(np.array(["17", "2"]))).tolist() == ["17  ", "2   "]


def test_parse_integers_flags_what_is_not_one_number():
    text = np.array(["  61", "6 1 ", "    ", " -12", "1-2 ", "007 ", "+1  ", " 5  "])
    values, valid = parse_integers(text)
    assert valid.tolist() == [True, False, False, True, False, True, False, True]
    assert values[valid].tolist() == [61, -12, 7, 5]


def test_pad_refuses_strings_wider_than_the_width():
    try:
        pad(np.array(["12345"]), 4, "left")
    except ValueError as error:
        assert "5 characters" in str(error)
    else:
        raise AssertionError("a string wider than its field must not be cut silently")


def test_char_matrix_round_trip():
    text = np.array(["ab c", "  12"])
    assert char_matrix(text, 4).shape == (2, 4)
    assert join_rows(char_matrix(text, 4)).tolist() == text.tolist()
