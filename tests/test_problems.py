"""Sampling: operands inside their space, exact values, bracket depth, distinct sets, overlap."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.problems import (
    MISSING,
    ProblemSpace,
    overlap,
    question_keys,
    sample,
    sample_distinct,
)
from addexp.text import render_expressions
from tests.reference_eval import evaluate
from tests.strategies import spaces

seeds = st.integers(0, 2**32 - 1)


@given(space=spaces(), seed=seeds)
@settings(max_examples=80, deadline=None)
def test_every_expression_evaluates_to_its_exact_target(space, seed):
    problems = sample(space, 150, np.random.default_rng(seed))
    counts = problems.counts
    assert counts.min() >= space.min_terms and counts.max() <= space.max_terms
    present = problems.operands[problems.operands != MISSING]
    assert present.min() >= space.min_value and present.max() <= space.max_value
    text = render_expressions(problems)
    assert [evaluate(t) for t in text] == [int(v) for v in problems.targets]
    lo, hi = space.value_range()
    assert all(lo <= int(v) <= hi for v in problems.targets)
    for t in text:  # bracket nesting within the limit
        depth = np.cumsum([{"(": 1, ")": -1}.get(c, 0) for c in t])
        assert depth.max(initial=0) <= space.brackets


def test_flat_expressions_follow_precedence_and_need_no_brackets():
    space = ProblemSpace(3, 5, operations=("+", "-", "*", "//"), low=0, largest=9)
    text = render_expressions(sample(space, 500, np.random.default_rng(3)))
    assert not any("(" in t for t in text)
    assert {"+", "-", "*", "/"} <= set("".join(text))


def test_brackets_appear_where_precedence_requires_them():
    space = ProblemSpace(3, 3, operations=("+", "*"), brackets=1, low=1, largest=9)
    text = render_expressions(sample(space, 400, np.random.default_rng(5)))
    bracketed = [t for t in text if "(" in t]
    assert bracketed, "random trees over + and * must sometimes need brackets"
    for t in bracketed:  # only a sum inside a product needs them: (a+b)*c or a*(b+c)
        inner = t[t.index("(") + 1 : t.index(")")]
        assert "+" in inner and "*" in t.replace(f"({inner})", "")


def test_division_is_never_by_zero_and_exact():
    space = ProblemSpace(2, 4, operations=("//", "-"), low=0, largest=3, brackets=2)
    problems = sample(space, 2000, np.random.default_rng(0))
    assert [evaluate(t) for t in render_expressions(problems)] == problems.targets.tolist()


def test_large_products_stay_exact_beyond_int64():
    space = ProblemSpace(6, 6, operations=("*",), mode="digits", min_digits=6, max_digits=6)
    problems = sample(space, 50, np.random.default_rng(1))
    assert problems.targets.dtype == object
    assert [evaluate(t) for t in render_expressions(problems)] == list(problems.targets)
    assert max(problems.targets) > 2**63


def test_digit_sampling_draws_the_digit_count_first():
    """Keras example: P(1 digit) = 1/3, so values < 10 are far more common than 1% of draws."""
    space = ProblemSpace(1, 1, mode="digits", min_digits=1, max_digits=3)
    values = sample(space, 30_000, np.random.default_rng(0)).operands.ravel()
    assert 0.33 < (values < 10).mean() < 0.40  # 1/3 + (1/3)(1/10) + (1/3)(1/100) = 0.37
    assert values.max() <= 999


def test_term_counts_are_uniform_between_min_and_max():
    space = ProblemSpace(2, 4)
    counts = sample(space, 9000, np.random.default_rng(2)).counts
    assert sorted(np.unique(counts)) == [2, 3, 4]
    assert np.allclose(np.bincount(counts)[2:] / 9000, 1 / 3, atol=0.03)


@given(seed=seeds, unordered=st.booleans(), n=st.integers(1, 40))
@settings(max_examples=40, deadline=None)
def test_distinct_sets_have_no_repeats(seed, unordered, n):
    space = ProblemSpace(2, 2, low=1, largest=9)
    problems = sample_distinct(space, n, np.random.default_rng(seed), unordered)
    keys = {tuple(sorted(r)) if unordered else tuple(r) for r in problems.operands.tolist()}
    assert len(problems) == n == len(keys)


def test_distinct_set_can_take_the_whole_space_and_no_more():
    space = ProblemSpace(2, 2, low=1, largest=10)
    assert space.size() == 100 and space.size(unordered=True) == 55
    everything = sample_distinct(space, 55, np.random.default_rng(1), unordered=True)
    assert len({tuple(sorted(r)) for r in everything.operands.tolist()}) == 55
    try:
        sample_distinct(space, 56, np.random.default_rng(1), unordered=True)
    except ValueError as error:
        assert "56" in str(error)
    else:
        raise AssertionError("asking for more distinct problems than exist must fail")


def test_excluded_questions_are_never_drawn():
    space = ProblemSpace(2, 2, low=1, largest=20)
    test = sample(space, 200, np.random.default_rng(0))
    banned = np.unique(question_keys(test))
    train = sample(space, 2000, np.random.default_rng(1), exclude=banned)
    fixed = sample_distinct(space, 150, np.random.default_rng(2), exclude=banned)
    assert overlap(test, question_keys(train)) == 0.0
    assert overlap(test, question_keys(fixed)) == 0.0
    assert not set(render_expressions(train).tolist()) & set(banned.tolist())


def test_overlap_counts_exact_questions():
    space = ProblemSpace(2, 2, low=1, largest=3)
    train = sample_distinct(space, 9, np.random.default_rng(0))  # the whole ordered space
    test = sample(space, 50, np.random.default_rng(1))
    assert overlap(test, question_keys(train)) == 1.0
    half = train.take(slice(0, 4))
    seen = {tuple(row) for row in half.operands.tolist()}
    expected = np.mean([tuple(row) in seen for row in test.operands.tolist()])
    assert overlap(test, question_keys(half)) == expected


def test_space_sizes():
    assert ProblemSpace(2, 3, low=0, largest=9).size() == 10**2 + 10**3
    assert ProblemSpace(2, 2, low=0, largest=9, operations=("+", "-")).size() == 200
    # 3 terms, 2 operators, 2 bracketings (Catalan(2)): an upper-bound estimate
    assert ProblemSpace(3, 3, low=0, largest=9, operations=("+", "*"), brackets=1).size() == (
        1000 * 4 * 2
    )
