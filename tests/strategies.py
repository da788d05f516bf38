"""Hypothesis strategies for problem spaces, shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from addexp.operations import OPERATIONS
from addexp.problems import ProblemSpace


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
