"""What a run can read: one rule, asked of a whole space and of the questions drawn from it.

A set refused before anything is drawn is refused for the same kind its drawn questions are
(and for no other), and a set that passes holds no question that would be refused: for every
kind, in every framing that can refuse it."""

from __future__ import annotations

import numpy as np
import pytest

from addexp.framing.aligned import AlignedFraming
from addexp.framing.base import alphabet_for
from addexp.framing.layouts import layouts_for
from addexp.framing.mapping import MappingFraming
from addexp.framing.reach import KINDS, refusal, row_demands, space_demands, worst
from addexp.framing.sequence import AutoregressiveFraming, Seq2SeqFraming
from addexp.problems.sampling import sample
from addexp.problems.space import ProblemSpace
from addexp.text.formats import ALIGNED, TextFormat

TRAIN = ProblemSpace(low=0, largest=99)


def sequence(train: ProblemSpace, any_length: bool = True, hints: int = 0, cls=Seq2SeqFraming):
    """A character framing laid out for `train` alone (as a run trained on it without sets)."""
    fmt = TextFormat.for_spaces([train], reverse_output=cls is AutoregressiveFraming)
    alphabet = alphabet_for(train, cls.writes_end)
    return cls(fmt, alphabet, space=train if any_length else None, position_hints=hints)


def mapping(train: ProblemSpace) -> MappingFraming:
    return MappingFraming(TextFormat.for_spaces([train]), train.max_terms, 1.0)


def aligned(train: ProblemSpace) -> AlignedFraming:
    fmt = TextFormat.for_spaces([train], written=ALIGNED)
    return AlignedFraming(fmt, alphabet_for(train), space=train)


THREE_SHORT = ProblemSpace(min_terms=2, max_terms=3, low=0, largest=9)  # "9+9+9" -> "27"
MINUS = TRAIN.with_changes(operations=("+", "-"))
SIX = ProblemSpace(mode="digits", min_digits=6, max_digits=6)

# kind -> (framing, whether it reads any length, a set it must refuse for that kind)
REFUSED = {
    "symbols": (sequence(TRAIN), True, MINUS),
    "symbols_fixed": (sequence(TRAIN, any_length=False), False, MINUS),
    "terms": (mapping(TRAIN), False, TRAIN.with_changes(min_terms=3, max_terms=3)),
    "terms_aligned": (aligned(TRAIN), True, TRAIN.with_changes(min_terms=2, max_terms=3)),
    "operations": (mapping(TRAIN), False, MINUS),
    "question_width": (sequence(TRAIN, any_length=False), False, SIX),
    "question_width_mapping": (mapping(TRAIN), False, SIX),
    "answer_width": (mapping(THREE_SHORT), False, TRAIN),
    "answer_width_sequence": (sequence(THREE_SHORT, any_length=False), False, TRAIN),
    "position_hints": (sequence(TRAIN, hints=4), True, SIX),
    "position_hints_decoder": (sequence(TRAIN, hints=3, cls=AutoregressiveFraming), True, TRAIN),
}
# framings and sets every question of which they read
READ = {
    "own_space": (sequence(TRAIN), True, TRAIN),
    "longer": (sequence(TRAIN), True, SIX.with_changes(min_terms=2, max_terms=4)),
    "narrower_fixed": (sequence(TRAIN, any_length=False), False, TRAIN.with_changes(largest=5)),
    "mapping_fewer_terms": (mapping(THREE_SHORT), False, THREE_SHORT.with_changes(max_terms=2)),
    "aligned_longer": (aligned(TRAIN), True, SIX),
    "hinted_within": (sequence(TRAIN, hints=6), True, SIX),
    "decoder_hinted_within": (sequence(TRAIN, hints=8, cls=AutoregressiveFraming), True, SIX),
}


def drawn_kinds(framing, any_length: bool, space: ProblemSpace) -> set[str]:
    """The kinds for which questions drawn from `space` are refused, row by row."""
    problems = sample(space, 200, np.random.default_rng(0))
    layouts = layouts_for(framing, problems, any_length)
    return {r.kind for r in (refusal(*p) for p in row_demands(layouts, problems)) if r}


@pytest.mark.parametrize(("framing", "any_length", "space"), REFUSED.values(), ids=REFUSED)
def test_a_set_is_refused_for_the_kind_its_questions_are(request, framing, any_length, space):
    kind = next(k for k in KINDS if request.node.callspec.id.startswith(k))
    found = worst([refusal(*p) for p in space_demands(framing, space, any_length)])
    assert found is not None and found.kind == kind
    assert drawn_kinds(framing, any_length, space) == {kind}


@pytest.mark.parametrize(("framing", "any_length", "space"), READ.values(), ids=READ)
def test_a_set_that_is_read_holds_no_question_that_is_refused(framing, any_length, space):
    assert worst([refusal(*p) for p in space_demands(framing, space, any_length)]) is None
    assert drawn_kinds(framing, any_length, space) == set()


def test_every_kind_is_tried():
    tried = {next(k for k in KINDS if case.startswith(k)) for case in REFUSED}
    assert tried | {"model"} == set(KINDS)  # a family's own reach: the test below


def test_a_family_s_own_reach_comes_after_every_other_kind():
    """A layout the framing writes but the model cannot read (more learned positions than the
    transformer's table holds) is refused as kind `model`, with the family's clause; without
    the family, or within its reach, it is read."""
    from addexp.models import FAMILIES, bind
    from tests.conftest import compose

    def family(rows: int):
        overrides = ["model=transformer", "model.positions=learned", f"model.max_positions={rows}"]
        return bind(FAMILIES["transformer"], compose(overrides).model)

    framing = sequence(TRAIN, cls=AutoregressiveFraming)
    pairs = space_demands(framing, SIX, True)
    found = worst([refusal(*p, family(4)) for p in pairs])
    assert found is not None and found.kind == "model"
    assert "model.max_positions=4" in found.clause
    assert worst([refusal(*p) for p in pairs]) is None
    assert worst([refusal(*p, family(512)) for p in pairs]) is None


def test_brackets_deeper_than_trained_are_refused_for_their_width():
    train = ProblemSpace(min_terms=6, max_terms=6, low=0, largest=9, operations=("+", "-"))
    train = train.with_changes(brackets=1)
    framing = sequence(train)  # each question laid out from the training space's brackets
    found = worst(
        [refusal(*p) for p in space_demands(framing, train.with_changes(brackets=4), True)]
    )
    assert found is not None and found.kind == "question_width"
    assert worst([refusal(*p) for p in space_demands(framing, train, True)]) is None
