"""Hypothesis strategies for problem spaces, shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from addexp.problems.operations import OPERATIONS
from addexp.problems.space import ProblemSpace


@st.composite
def spaces(draw, sums_only: bool = False, max_terms: int = 5) -> ProblemSpace:
    """Any valid problem space: term counts, operand ranges or digits, operations, brackets."""
    lo_terms = draw(st.integers(1, max_terms))
    hi_terms = draw(st.integers(lo_terms, max_terms))
    mode = draw(st.sampled_from(["range", "digits"]))
    low = draw(st.integers(0, 30))
    largest = low + draw(st.integers(1, 10**4))
    min_digits = draw(st.integers(1, 3))
    max_digits = min_digits + draw(st.integers(0, 2))
    if sums_only:
        operations, brackets = ("+",), 0
    else:
        operations = tuple(
            draw(st.lists(st.sampled_from(list(OPERATIONS)), min_size=1, max_size=4, unique=True))
        )
        brackets = draw(st.integers(0, 3))
    return ProblemSpace(
        min_terms=lo_terms,
        max_terms=hi_terms,
        mode=mode,
        low=low,
        largest=largest,
        min_digits=min_digits,
        max_digits=max_digits,
        operations=operations,
        brackets=brackets,
    )


@st.composite
def chain_spaces(draw) -> ProblemSpace:
    """Bracket-free spaces of one operation: 1..5 terms (fixed or variable), operands in a
    range or by digit count, small (int64) or beyond int64 (Python integers)."""
    lo_terms = draw(st.integers(1, 5))
    hi_terms = draw(st.integers(lo_terms, 5))
    mode = draw(st.sampled_from(["range", "digits"]))
    low = draw(st.integers(0, 30))
    size = draw(st.sampled_from([10, 10**4, 10**9, 10**30]))  # 10**30: beyond int64
    largest = low + draw(st.integers(1, size))
    min_digits = draw(st.integers(1, 3))
    max_digits = min_digits + draw(st.sampled_from([0, 2, 8, 25]))
    weights = draw(st.sampled_from([None, (2.5,)]))
    return ProblemSpace(
        min_terms=lo_terms,
        max_terms=hi_terms,
        mode=mode,
        low=low,
        largest=largest,
        min_digits=min_digits,
        max_digits=max_digits,
        operations=(draw(st.sampled_from(list(OPERATIONS))),),
        weights=weights,
    )
