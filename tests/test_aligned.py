"""The aligned format: place values lined up, least significant first (property tests)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.evaluation.metrics import Scored, compute
from addexp.framing.aligned import AlignedFraming
from addexp.framing.base import alphabet_for, expected_chars
from addexp.problems.sampling import sample
from addexp.problems.sets import eval_set_space
from addexp.problems.space import MISSING, ProblemSpace
from addexp.text.formats import TextFormat
from tests.strategies import spaces


def aligned(space: ProblemSpace) -> AlignedFraming:
    return AlignedFraming(TextFormat.for_spaces([space]), alphabet_for(space), space=space)


@given(space=spaces(sums_only=True), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_every_step_holds_the_digits_of_one_place_value(space, seed):
    framing = aligned(space)
    problems = sample(space, 40, np.random.default_rng(seed))
    x = framing.inputs(problems)
    steps, terms = framing.steps, space.max_terms
    assert x.shape == (40, steps, terms * 10) and framing.shapes.input_shape == (steps, terms * 10)
    one_hot = x.reshape(40, steps, terms, 10)
    assert (one_hot.sum(axis=-1) == 1).all()  # absent digits and terms are an explicit 0
    digits = one_hot.argmax(axis=-1)  # (n, steps, terms)
    operands = np.where(problems.operands == MISSING, 0, problems.operands).astype(object)
    for i in range(steps):
        assert (digits[:, i, :] == (operands // 10**i) % 10).all()
    y = framing.targets(problems).argmax(axis=-1)
    for i in range(steps):
        assert (y[:, i] == (problems.targets.astype(object) // 10**i) % 10).all()


@given(space=spaces(sums_only=True), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_a_perfect_tagger_scores_one_and_reads_back_the_exact_sum(space, seed):
    framing = aligned(space)
    problems = sample(space, 30, np.random.default_rng(seed))
    answers = framing.answers(framing.targets(problems))
    assert answers.valid.all()
    assert answers.values.tolist() == problems.targets.tolist()
    scored = Scored(problems, expected_chars(framing.text_format, problems), answers)
    assert compute(scored)["exact_match"] == 1.0


def test_longer_questions_get_more_places_and_the_same_slots():
    space = ProblemSpace(2, 2, mode="digits", min_digits=1, max_digits=5)
    framing = aligned(space)
    long_space = eval_set_space(space, {"digits": 50})
    long = sample(long_space, 10, np.random.default_rng(1))
    fitted = framing.fitted(long_space)
    assert framing.steps == 6 and fitted.steps == 51
    x = fitted.inputs(long)
    assert x.shape == (10, 51, 20)
    answers = fitted.answers(fitted.targets(long))
    assert answers.values.tolist() == long.targets.tolist()


def test_a_row_with_a_non_finite_output_is_no_answer():
    """A diverged model's NaN (or infinite) outputs never read as a digit: that row is '?' and
    invalid, the others as they were."""
    space = ProblemSpace(2, 2, mode="digits", min_digits=1, max_digits=3)
    framing = aligned(space)
    problems = sample(space, 3, np.random.default_rng(0))
    outputs = framing.targets(problems)
    outputs[1, 0, 0], outputs[2, -1, 3] = np.nan, np.inf
    answers = framing.answers(outputs)
    assert answers.valid.tolist() == [True, False, False]
    assert answers.values[0] == problems.targets[0]
    assert set(answers.chars[1]) == {"?"}
