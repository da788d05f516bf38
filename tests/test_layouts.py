"""Per-question layouts: a question's layout depends on it alone, answers of several layouts go
into one array in order, and per-character accuracy counts only positions a layout holds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.evaluation.metrics import Scored, char_accuracy, compute
from addexp.evaluation.plots import confusion_counts
from addexp.framing.base import Answers, alphabet_for
from addexp.framing.layouts import layouts_for
from addexp.framing.sequence import Seq2SeqFraming
from addexp.problems.questions import parse_questions
from addexp.problems.sampling import sample
from addexp.problems.space import Problems, ProblemSpace
from addexp.text.formats import PADDINGS, TextFormat
from tests.strategies import spaces


def _framing(space: ProblemSpace, padding: str = "left", reverse: bool = False):
    fmt = TextFormat.for_spaces([space], padding, reverse, reverse)
    return Seq2SeqFraming(fmt, alphabet_for(space), space=space)


def _mixed(space: ProblemSpace, digits: int, extra: int, seed: int) -> Problems:
    """Rows of the training space shuffled with rows of wider operands (from 0) and more terms."""
    wider = space.with_changes(
        mode="range", low=0, largest=10**digits - 1, max_terms=space.max_terms + extra
    )
    rng = np.random.default_rng(seed)
    both = Problems.concat([sample(space, 15, rng), sample(wider, 15, rng)])
    return both.take(rng.permutation(len(both)))


@given(
    space=spaces(max_terms=4),
    digits=st.integers(1, 25),
    extra=st.integers(0, 2),
    seed=st.integers(0, 2**32 - 1),
    padding=st.sampled_from(PADDINGS),
    reverse=st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_a_question_is_laid_out_alike_alone_and_in_any_batch(
    space, digits, extra, seed, padding, reverse
):
    framing = _framing(space, padding, reverse)
    problems = _mixed(space, digits, extra, seed)
    layouts = layouts_for(framing, problems, any_length=True)
    for i in range(len(problems)):
        alone = layouts_for(framing, problems.take([i]), any_length=True)
        assert alone.framings[0].text_format == layouts.framings[layouts.group[i]].text_format
    inside = layouts_for(framing, sample(space, 20, np.random.default_rng(seed)), True)
    assert [f.text_format for f in inside.framings] == [framing.text_format]  # the run's own
    for fitted, _ in layouts.groups():  # never narrower than the run's layout
        assert fitted.text_format.question_width >= framing.text_format.question_width
        assert fitted.text_format.answer_width >= framing.text_format.answer_width

    # a perfect model's answers, decoded layout by layout, come back in order and score 1
    parts = [f.answers(f.targets(problems.take(rows))) for f, rows in layouts.groups()]
    answers = layouts.join(parts)
    expected = layouts.expected(problems)
    assert answers.chars.shape == (len(problems), layouts.width)
    assert (answers.chars == expected).all()
    assert answers.values.tolist() == problems.targets.tolist() and answers.valid.all()
    metrics = compute(Scored(problems, expected, answers, layouts.own()))
    assert metrics["exact_match"] == 1.0 and metrics["char_accuracy"] == 1.0
    assert (layouts.own().sum(axis=1) == layouts.widths()).all()


def test_narrower_layouts_are_padded_on_the_pad_side_and_their_padding_never_scores():
    space = ProblemSpace(2, 2, low=1, largest=10)  # the tutorial's: answers of 2 characters
    problems = parse_questions(["5+3", "50+60", "7+1"])
    layouts = layouts_for(_framing(space), problems, any_length=True)
    assert layouts.widths().tolist() == [2, 3, 2] and layouts.width == 3
    expected = layouts.expected(problems)
    assert ["".join(row) for row in expected] == ["  8", "110", "  8"]
    narrow, wide = [False, True, True], [True, True, True]
    assert layouts.own().tolist() == [narrow, wide, narrow]
    # the narrow rows wrong at both of their positions, the wide row right at all three
    predicted = np.array([list(" 99"), list("110"), list(" 99")])
    answers = Answers(predicted, np.array([99, 110, 99]), np.ones(3, bool))
    right = predicted == expected
    assert right.mean() == 5 / 9  # what counting the padding would say
    assert char_accuracy(right, layouts.own()) == 1 / 3  # rows alike: (0 + 1 + 0) / 3
    assert compute(Scored(problems, expected, answers, layouts.own()))["exact_match"] == 1 / 3
    symbols, counts = confusion_counts(expected, predicted, own=layouts.own())
    at = {(symbols[i], symbols[j]): int(counts[i, j]) for i, j in np.argwhere(counts)}
    assert counts.sum() == 2 + 3 + 2 and (" ", " ") not in at  # the added padding never counts
    assert at[" ", "9"] == 2  # the narrow layouts' own pad, written as 9


def test_a_fixed_layout_is_one_group_whatever_is_asked():
    space = ProblemSpace(2, 2, low=1, largest=10)
    framing = _framing(space)
    problems = parse_questions(["5+3", "50+60"])
    layouts = layouts_for(framing, problems, any_length=False)
    assert layouts.framings == (framing,) and layouts.group.tolist() == [0, 0]
