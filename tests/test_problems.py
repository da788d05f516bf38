"""Sampling: operands inside their space, exact sums, distinct sets, overlap."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.problems import OperandSpace, overlap, row_keys, sample, sample_distinct

range_spaces = st.builds(
    lambda terms, low, span: OperandSpace(terms=terms, mode="range", low=low, largest=low + span),
    terms=st.integers(1, 5),
    low=st.integers(0, 50),
    span=st.integers(0, 10**6),
)
digit_spaces = st.builds(
    lambda terms, lo, extra: OperandSpace(
        terms=terms, mode="digits", min_digits=lo, max_digits=lo + extra
    ),
    terms=st.integers(1, 5),
    lo=st.integers(1, 4),
    extra=st.integers(0, 3),
)


@given(space=st.one_of(range_spaces, digit_spaces), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_operands_stay_in_their_space_and_targets_are_exact_sums(space, seed):
    problems = sample(space, 300, np.random.default_rng(seed))
    assert problems.operands.shape == (300, space.terms)
    low = space.low if space.mode == "range" else 0
    assert problems.operands.min() >= low
    assert problems.operands.max() <= space.max_value
    exact = [sum(int(v) for v in row) for row in problems.operands]
    assert problems.targets.tolist() == exact


def test_digit_sampling_draws_the_digit_count_first():
    """Keras example: P(1 digit) = 1/3, so values < 10 are far more common than 1% of draws."""
    space = OperandSpace(terms=1, mode="digits", min_digits=1, max_digits=3)
    values = sample(space, 30_000, np.random.default_rng(0)).operands.ravel()
    share_below_10 = (values < 10).mean()
    assert 0.33 < share_below_10 < 0.40  # 1/3 + (1/3)(1/10) + (1/3)(1/100) = 0.37
    assert values.max() <= 999


@given(seed=st.integers(0, 2**32 - 1), unordered=st.booleans(), n=st.integers(1, 40))
@settings(max_examples=40, deadline=None)
def test_distinct_sets_have_no_repeats(seed, unordered, n):
    space = OperandSpace(terms=2, mode="range", low=1, largest=9)
    problems = sample_distinct(space, n, np.random.default_rng(seed), unordered)
    keys = row_keys(problems.operands, unordered)
    assert len(problems) == n
    assert len(np.unique(keys)) == n


def test_distinct_set_can_take_the_whole_space_and_no_more():
    space = OperandSpace(terms=2, mode="range", low=1, largest=10)
    assert space.size() == 100 and space.size(unordered=True) == 55
    everything = sample_distinct(space, 55, np.random.default_rng(1), unordered=True)
    assert len(np.unique(row_keys(everything.operands, True))) == 55
    try:
        sample_distinct(space, 56, np.random.default_rng(1), unordered=True)
    except ValueError as error:
        assert "56" in str(error)
    else:
        raise AssertionError("asking for more distinct problems than exist must fail")


def test_overlap_counts_exact_questions():
    space = OperandSpace(terms=2, mode="range", low=1, largest=3)
    train = sample_distinct(space, 9, np.random.default_rng(0))  # the whole ordered space
    test = sample(space, 50, np.random.default_rng(1))
    assert overlap(test, np.unique(row_keys(train.operands))) == 1.0
    half = train.take(slice(0, 4))
    seen = {tuple(row) for row in half.operands.tolist()}
    expected = np.mean([tuple(row) in seen for row in test.operands.tolist()])
    assert overlap(test, row_keys(half.operands)) == expected
    assert overlap(test, row_keys(np.array([[99, 99]]))) == 0.0
