"""Sampling: operands inside their space, exact values, bracket depth, distinct sets, overlap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.problems import sampling
from addexp.problems.sampling import sample, sample_distinct
from addexp.problems.space import MISSING, ProblemSpace, overlap, question_keys
from addexp.text.formats import render_expressions
from tests.reference_eval import evaluate
from tests.strategies import chain_spaces, spaces

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


@given(space=chain_spaces(), seed=seeds, n=st.integers(16, 300))
@settings(max_examples=150, deadline=None)
def test_one_operation_chains_fold_to_the_problems_the_tree_merge_draws(space, seed, n):
    """The numeric path draws what the general one does from the same stream: same rows,
    same dtypes, same usable mask, and the stream left in the same state."""
    folding, merging = np.random.default_rng(seed), np.random.default_rng(seed)
    folded, folded_usable = sampling._draw(space, n, folding)
    operands, ops = sampling._draw_leaves(space, n, merging)
    merged, merged_usable = sampling._merge_trees(space, operands, ops, merging)
    assert folding.bit_generator.state == merging.bit_generator.state
    assert folded.operands.dtype == merged.operands.dtype
    assert (folded.operands == merged.operands).all()
    assert folded.templates.dtype == merged.templates.dtype
    assert (folded.templates == merged.templates).all()
    assert folded.targets.dtype == merged.targets.dtype
    assert folded.targets.tolist() == merged.targets.tolist()
    assert (folded_usable == merged_usable).all()
    if space.operations == ("//",) and space.min_value == 0:
        assert (~folded_usable).any() or (folded.operands[:, 1:] != 0).all()


def test_sampling_a_one_operation_chain_keeps_its_stream():
    """Seeds keep their problems: the fold changes how rows are built, not which are drawn."""
    space = ProblemSpace(2, 4, operations=("-",), low=0, largest=99)
    problems = sample(space, 5, np.random.default_rng(7))
    assert render_expressions(problems).tolist() == [
        "94-62-68-89", "57-77", "5-30", "91-0", "13-79-11-46"
    ]  # fmt: skip
    assert problems.targets.tolist() == [-125, -20, -25, 91, -123]


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


def test_hundred_digit_operands_sample_and_render_exactly():
    from addexp.problems.sets import eval_set_space

    base = ProblemSpace(2, 2, mode="digits", min_digits=1, max_digits=3)
    space = eval_set_space(base, {"digits": 100})
    problems = sample(space, 200, np.random.default_rng(11))
    text = render_expressions(problems)
    for question, target in zip(text.tolist(), problems.targets.tolist(), strict=True):
        a, b = question.split("+")
        assert len(a) == len(b) == 100 and a[0] != "0" and b[0] != "0"
        assert int(a) + int(b) == target  # Python's exact integers
    wide = ProblemSpace(2, 3, mode="digits", min_digits=1, max_digits=100)
    values = sample(wide, 2000, np.random.default_rng(12)).operands
    present = values[values != MISSING]
    lengths = np.array([len(str(v)) for v in present])
    assert lengths.max() == 100 and lengths.min() == 1
    assert (present >= 0).all()


@pytest.mark.parametrize(
    ("low", "largest"), [(0, 10**19), (10**19, 10**19 + 5), (10**40, 10**41 - 1), (3, 2**63 + 7)]
)
def test_uniform_operands_past_int64_stay_in_range(low, largest):
    space = ProblemSpace(2, 2, low=low, largest=largest)
    problems = sample(space, 500, np.random.default_rng(5))
    assert all(low <= int(v) <= largest for v in problems.operands.ravel())
    assert len({int(v) for v in problems.operands.ravel()}) > 1
    assert [int(a) + int(b) for a, b in problems.operands.tolist()] == problems.targets.tolist()


def test_carries_and_carry_chains_by_column_addition():
    from addexp.evaluation.breakdown import NOT_A_SUM, breakdown, carries
    from addexp.problems.questions import parse_questions

    problems = parse_questions(["99+1", "45+44", "15+5", "999+1+1", "5+5+5+5", "7-3", "1+2*3"])
    count, chain = carries(problems)
    assert count.tolist() == [2, 0, 1, 3, 1, NOT_A_SUM, NOT_A_SUM]
    assert chain.tolist() == [2, 0, 1, 3, 1, NOT_A_SUM, NOT_A_SUM]
    table = breakdown(problems, np.array([True, True, False, True, False, True, True]))
    rows = {(a, v): (n, e) for a, v, n, e in zip(*table.values(), strict=True)}
    assert rows["carries", 0] == (1, 1.0) and rows["carries", 1] == (2, 0.0)
    assert rows["digits", 1] == (3, 2 / 3)  # 5+5+5+5, 7-3, 1+2*3
    assert ("carries", NOT_A_SUM) not in rows


@settings(max_examples=40, deadline=None)
@given(space=spaces(), seed=st.integers(0, 2**31 - 1))
def test_a_space_holds_what_it_draws_and_not_a_term_or_operand_beyond_it(space, seed):
    drawn = sample(space, 50, np.random.default_rng(seed))
    assert space.holds(drawn).all()
    wider = sample(
        space.with_changes(mode="range", low=space.max_value + 1, largest=space.max_value + 9),
        20,
        np.random.default_rng(seed),
    )
    assert not space.holds(wider).any()  # every operand past the largest
    more = sample(
        space.with_changes(max_terms=space.max_terms + 1, min_terms=space.max_terms + 1),
        20,
        np.random.default_rng(seed),
    )
    assert not space.holds(more).any()  # one term too many


def test_every_data_key_maps_onto_the_space_and_back():
    from dataclasses import fields

    from omegaconf import OmegaConf

    from addexp.config.schema import DataConfig, EvalSetConfig
    from addexp.problems.space import PROBLEM_KEYS, SPACE_KEYS, space_from_config, space_to_config

    assert list(SPACE_KEYS) == list(PROBLEM_KEYS)
    set_keys = [f.name for f in fields(EvalSetConfig)]
    assert set_keys == ["examples", *PROBLEM_KEYS, "digits", "digits_scale", "extra_terms"]
    space = ProblemSpace(2, 4, operations=("+", "*"), weights=(2.0, 1.0), brackets=1)
    assert space_from_config(OmegaConf.create(space_to_config(space))) == space
    assert space_to_config(space_from_config(OmegaConf.structured(DataConfig))) == {
        **OmegaConf.to_container(OmegaConf.structured(DataConfig)),
        "max_terms": 2,
    }
