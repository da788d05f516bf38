"""Every operation writes the brackets a reader needs: a sampled question, read back by Python's
parser, has exactly the sampled value, for every pair of registered operations and for `%`
(the test plugin's, added here for the test's duration), with and without brackets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from addexp.problems.operations import OPERATIONS
from addexp.problems.questions import parse_questions
from addexp.problems.sampling import sample
from addexp.problems.space import ProblemSpace
from addexp.registry import RegistryError
from tests.plugin.addexp_test_plugin.modulo import MODULO

SYMBOLS = [*OPERATIONS, MODULO.symbol]


@pytest.fixture(autouse=True)
def modulo():
    with OPERATIONS.including(MODULO):
        yield


@pytest.mark.parametrize("brackets", [0, 2])
@pytest.mark.parametrize("pair", list(itertools.combinations_with_replacement(SYMBOLS, 2)))
def test_a_question_reads_back_to_its_value(pair, brackets):
    operations = tuple(dict.fromkeys(pair))
    space = ProblemSpace(2, 5, "range", 0, 30, operations=operations, brackets=brackets)
    problems = sample(
        space, 400, np.random.default_rng([len(pair), brackets, *map(ord, "".join(pair))])
    )
    questions = problems.questions().tolist()
    read = parse_questions(questions)
    wrong = [q for q, a, b in zip(questions, read.targets, problems.targets, strict=True) if a != b]
    assert not wrong, wrong[:5]


def test_a_right_chain_of_an_operation_it_does_not_associate_with_keeps_its_brackets():
    space = ProblemSpace(3, 3, "range", 1, 9, operations=("*", "%"), brackets=1)
    questions = set(sample(space, 2000, np.random.default_rng(0)).questions().tolist())
    assert any(q.startswith(("#*(", "#%(")) for q in _shapes(questions))  # a*(b%c), a%(b*c)
    assert "#*#*#" in _shapes(questions)  # a*(b*c) needs none


def _shapes(questions: set[str]) -> set[str]:
    return {"".join("#" if c.isdigit() else c for c in q).replace("##", "#") for q in questions}


def test_an_operation_added_for_a_block_is_named_as_such_and_taken_away_after():
    assert OPERATIONS.origin("%").package == "(added in this process)"
    other = OPERATIONS.including(MODULO)
    with pytest.raises(RegistryError, match="defined twice"), other:
        pass
