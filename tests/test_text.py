"""Rendering: exact widths, the four paddings, reversal, and answers read back exactly."""

from __future__ import annotations

import itertools
import re
from math import ceil, log10

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.problems import codes as render
from addexp.problems.sampling import sample
from addexp.problems.space import MISSING, SLOT, Problems, ProblemSpace
from addexp.text.formats import (
    PAD,
    PADDINGS,
    PLAIN,
    TextFormat,
    char_matrix,
    join_rows,
    pad,
    parse_integers,
    question_width,
    render_expressions,
    render_integers,
)
from tests.reference_eval import evaluate
from tests.strategies import spaces


@given(
    space=spaces(),
    seed=st.integers(0, 2**32 - 1),
    padding=st.sampled_from(PADDINGS),
    reverse_input=st.booleans(),
    reverse_output=st.booleans(),
)
@settings(max_examples=100, deadline=None)
def test_layouts_fit_the_widths_and_read_back_exactly(
    space, seed, padding, reverse_input, reverse_output
):
    problems = sample(space, 100, np.random.default_rng(seed))
    fmt = TextFormat.for_spaces([space], padding, reverse_input, reverse_output)
    chars = fmt.questions(problems)
    assert chars.shape == (100, question_width(space))
    text = join_rows(chars[:, ::-1] if reverse_input else chars)
    assert [evaluate(t) for t in text] == [int(v) for v in problems.targets]
    core = [t.strip() for t in text]
    if fmt.side == "left":
        assert all(t.endswith(c) for t, c in zip(text, core, strict=True))
    else:
        assert all(t.startswith(c) for t, c in zip(text, core, strict=True))
    if padding == "per_term":  # every operand right-aligned in a field of the widest operand
        width = len(str(space.max_value))
        rendered = render_expressions(problems, width)
        assert all(t.endswith(r) for t, r in zip(text, rendered, strict=True))
        for r in rendered:
            fields = re.split(r"[-+*/()]+", r)
            assert all(len(f) == width for f in fields if f), r

    answers = fmt.answers(render_integers(problems.targets))
    assert answers.shape == (100, PLAIN.answer_width(space))
    written = fmt.model_order(answers)  # what the model is trained to write
    assert (fmt.model_order(written) == answers).all()
    if reverse_output:
        assert (written == answers[:, ::-1]).all()
    values, valid = parse_integers(join_rows(answers))
    assert valid.all() and [int(v) for v in values] == [int(v) for v in problems.targets]


def _as_python_integers(problems: Problems) -> Problems:
    """The same problems with object operands, which `Problems.questions` and
    `TextFormat.questions` write through NumPy's string functions."""
    return Problems(
        problems.operands.astype(object), problems.templates, problems.targets.astype(object)
    )


@given(
    space=spaces(),
    seed=st.integers(0, 2**32 - 1),
    padding=st.sampled_from(PADDINGS),
    reverse_input=st.booleans(),
    spare=st.integers(0, 3),
)
@settings(max_examples=150, deadline=None)
def test_character_codes_write_exactly_what_the_string_path_writes(
    space, seed, padding, reverse_input, spare
):
    """int64 problems go straight to character codes; the string path (Python integers) is
    the reference: unpadded questions at any per-term width, every padding and reversal, the
    one-template and the per-row layouts, and answers (negative ones too)."""
    problems = sample(space, 120, np.random.default_rng(seed))
    strings = _as_python_integers(problems)
    for width in (0, space.max_operand_digits, space.max_operand_digits + spare):
        ours, theirs = problems.questions(width), strings.questions(width)
        assert ours.tolist() == theirs.tolist()
    fmt = TextFormat.for_spaces([space], padding, reverse_input)
    fmt = TextFormat(
        fmt.question_width + spare, fmt.answer_width + spare, padding, reverse_input, False,
        fmt.operand_width,
    )  # fmt: skip
    ours, theirs = fmt.questions(problems), fmt.questions(strings)
    assert ours.dtype == theirs.dtype == np.dtype("<U1") and (ours == theirs).all()
    per_row = render._own_templates(
        np.ascontiguousarray(problems.operands.T),
        render.char_counts(problems.operands.T),
        np.maximum(render.char_counts(problems.operands.T), fmt.operand_width),
        np.ascontiguousarray(problems.templates),
        fmt.question_width,
        fmt.side,
        ord(PAD),
        reverse_input,
        SLOT,
    )
    assert (render.as_chars(per_row) == theirs).all()
    answers = fmt.answers_of(problems.targets)
    assert answers.dtype == np.dtype("<U1")
    assert (answers == fmt.answers(render_integers(problems.targets))).all()
    assert (answers == fmt.answers_of(strings.targets)).all()


@given(
    values=st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=40),
    side=st.sampled_from(["left", "right"]),
    reverse=st.booleans(),
)
@settings(max_examples=80, deadline=None)
def test_integer_codes_are_the_decimal_text_padded_and_reversed(values, side, reverse):
    width = max(len(str(v)) for v in values)
    codes = render.integer_codes(np.array(values, dtype=np.int64), width, side, ord(PAD), reverse)
    fill = str.rjust if side == "left" else str.ljust
    expected = [fill(str(v), width, PAD) for v in values]
    assert join_rows(render.as_chars(codes)).tolist() == [
        e[::-1] if reverse else e for e in expected
    ]


def test_no_rows_lay_out_as_no_rows():
    space = ProblemSpace(2, 3)
    none = sample(space, 20, np.random.default_rng(0)).take(slice(0, 0))
    fmt = TextFormat.for_spaces([space])
    assert none.questions().shape == (0,)
    assert fmt.questions(none).shape == (0, fmt.question_width)
    assert fmt.answers_of(none.targets).shape == (0, fmt.answer_width)


def test_codes_that_do_not_fit_fail_as_the_string_path_does():
    problems = sample(ProblemSpace(2, 2, low=100, largest=999), 10, np.random.default_rng(0))
    narrow = TextFormat(6, 3)
    for rows in (problems, _as_python_integers(problems)):
        with pytest.raises(ValueError, match="a string of 7 characters does not fit width 6"):
            narrow.questions(rows)
        with pytest.raises(ValueError, match="does not fit width 3"):
            narrow.answers_of(rows.targets * 10)


@given(terms=st.integers(1, 4), low=st.integers(0, 5), largest=st.integers(5, 120))
@settings(max_examples=60, deadline=None)
def test_sum_widths_are_those_of_the_longest_possible_strings(terms, low, largest):
    space = ProblemSpace(terms, terms, low=low, largest=largest)
    assert question_width(space) == len(str(largest)) * terms + terms - 1
    assert PLAIN.answer_width(space) == len(str(largest * terms))


def test_widths_match_the_tutorial_where_its_formula_is_right_and_fix_it_where_not():
    assert (question_width(ProblemSpace(2, 2)), PLAIN.answer_width(ProblemSpace(2, 2))) == (5, 2)
    assert (question_width(ProblemSpace(3, 3)), PLAIN.answer_width(ProblemSpace(3, 3))) == (8, 2)
    keras_example = ProblemSpace(2, 2, mode="digits", min_digits=1, max_digits=3)
    assert (question_width(keras_example), PLAIN.answer_width(keras_example)) == (7, 4)
    # ceil(log10(terms * (largest + 1))) over-counts here: 3 * 33 = 99 needs 2 characters.
    odd = ProblemSpace(3, 3, low=1, largest=33)
    assert ceil(log10(3 * 34)) == 3 and PLAIN.answer_width(odd) == 2


def test_widths_are_exact_for_small_spaces_with_operations():
    """Brute force over every flat expression: the computed widths are attained, not exceeded."""
    ops = ("+", "-", "*")
    space = ProblemSpace(2, 3, low=0, largest=12, operations=ops)
    longest_q, lo, hi = 0, 0, 0
    for k in (2, 3):
        for values in itertools.product([0, 9, 10, 12], repeat=k):
            for chosen in itertools.product(ops, repeat=k - 1):
                expr = "".join(f"{v}{o}" for v, o in zip(values, chosen, strict=False))
                expr += str(values[-1])
                longest_q = max(longest_q, len(expr))
                lo, hi = min(lo, evaluate(expr)), max(hi, evaluate(expr))
    assert question_width(space) == longest_q
    assert PLAIN.answer_width(space) == max(len(str(lo)), len(str(hi)))


def test_padding_and_reversal_layout():
    p = Problems(np.array([[7, 10], [1, 1]]), np.array(["#+#", "#+#"]), np.array([17, 2]))
    fmt = TextFormat(question_width=5, answer_width=2, padding="left")
    assert join_rows(fmt.questions(p)).tolist() == [" 7+10", "  1+1"]
    keras_layout = TextFormat(7, 4, "right", reverse_input=True)
    assert join_rows(keras_layout.questions(p)).tolist() == ["   01+7", "    1+1"]
    assert join_rows(keras_layout.answers(np.array(["17", "2"]))).tolist() == ["17  ", "2   "]
    per_term = TextFormat(5, 2, "per_term", operand_width=2)
    assert join_rows(per_term.questions(p)).tolist() == [" 7+10", " 1+ 1"]
    lsd_first = TextFormat(5, 3, "left", reverse_output=True)
    written = lsd_first.model_order(lsd_first.answers(np.array(["17", "2"])))
    assert join_rows(written).tolist() == ["71 ", "2  "]


def test_variable_terms_render_only_their_own_operands():
    p = Problems(
        np.array([[3, 4, MISSING], [1, 2, 3]]), np.array(["#*#", "(#-#)*#"]), np.array([12, -3])
    )
    assert render_expressions(p).tolist() == ["3*4", "(1-2)*3"]
    assert render_expressions(p, operand_width=2).tolist() == [" 3* 4", "( 1- 2)* 3"]


def test_parse_integers_flags_what_is_not_one_number():
    text = np.array(["  61", "6 1 ", "    ", " -12", "1-2 ", "007 ", "+1  ", " 5  ", "-   "])
    values, valid = parse_integers(text)
    assert valid.tolist() == [True, False, False, True, False, True, False, True, False]
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
