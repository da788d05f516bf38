"""Position hints (`format.position_hints`): the hint arrays (property tests), and that hints
off change nothing."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addexp.encoding import encode_inputs
from addexp.framings import START, AutoregressiveFraming, Seq2SeqFraming, alphabet_for
from addexp.hints import NO_TAG, question_hash
from addexp.layouts import layouts_for
from addexp.problems import Problems, ProblemSpace, sample
from addexp.questions import parse_questions
from addexp.text import PADDINGS, TextFormat
from tests.conftest import compose
from tests.strategies import spaces


def _framing(
    space: ProblemSpace,
    hints: int,
    padding: str = "left",
    reverse_input: bool = False,
    autoregressive: bool = False,
    encoding: str = "onehot",
):
    fmt = TextFormat.for_spaces([space], padding, reverse_input, autoregressive)
    kind = AutoregressiveFraming if autoregressive else Seq2SeqFraming
    alphabet = alphabet_for(space, autoregressive)
    return kind(fmt, alphabet, encoding, padding == "none", space=space, position_hints=hints)


def _question_features(framing, problems: Problems) -> np.ndarray:
    x = framing.inputs(problems)
    return x["question"] if isinstance(x, dict) else x


def _tags(framing, features: np.ndarray) -> np.ndarray:
    """(n, steps) the one hint each question step's features hold (NO_TAG: none), checking
    that no step holds more than one."""
    hints = features[..., -framing.position_hints :]
    assert set(np.unique(hints)) <= {0.0, 1.0} and (hints.sum(axis=-1) <= 1).all()
    return np.where(hints.any(axis=-1), hints.argmax(axis=-1), NO_TAG)


@given(
    space=spaces(max_terms=4),
    seed=st.integers(0, 2**32 - 1),
    padding=st.sampled_from(PADDINGS),
    reverse_input=st.booleans(),
    autoregressive=st.booleans(),
    encoding=st.sampled_from(["onehot", "integer"]),
    spare=st.integers(0, 40),
)
@settings(max_examples=60, deadline=None)
def test_digits_of_one_place_share_a_tag_and_other_steps_have_none(
    space, seed, padding, reverse_input, autoregressive, encoding, spare
):
    problems = sample(space, 30, np.random.default_rng(seed))
    needed = int(_framing(space, 1, autoregressive=autoregressive).hint_places(problems).max())
    hints = needed + spare
    framing = _framing(space, hints, padding, reverse_input, autoregressive, encoding)
    features = _question_features(framing, problems)
    width, symbols = framing.text_format.question_width, len(framing.alphabet)
    assert features.shape == (30, width, (symbols if encoding == "onehot" else 1) + hints)
    assert framing.shapes.input_shape == features.shape[1:]
    tags = _tags(framing, features)
    offsets = []
    for row, chars in enumerate(framing.text_format.questions(problems)):
        reading = "".join(chars[::-1] if reverse_input else chars)  # as a person reads it
        expected = np.full(width, NO_TAG)
        for operand in re.finditer(r"\d+", reading):  # each digit's place within its operand
            for j in range(operand.start(), operand.end()):
                expected[width - 1 - j if reverse_input else j] = operand.end() - 1 - j
        digits = expected != NO_TAG
        assert (tags[row][~digits] == NO_TAG).all()  # operators, padding, brackets: no tag
        offset = set((tags[row] - expected)[digits].tolist())
        assert len(offset) == 1  # equal places share a tag in every operand
        offsets.append(offset.pop())
    offsets = np.array(offsets)
    assert (offsets >= 0).all() and (offsets + framing.hint_places(problems) <= hints).all()
    assert tags.max() < hints
    if autoregressive:  # answer step t: the hint of place t, END's step and padding included
        x = framing.inputs(problems)
        steps = framing.text_format.answer_width + 1
        assert x["answer_hint"].shape == (30, steps, hints)
        assert (x["answer_hint"].sum(axis=-1) == 1).all()
        assert (x["answer_hint"].argmax(axis=-1) == offsets[:, None] + np.arange(steps)).all()
        assert (framing.answer_offsets(problems) == offsets).all()
        assert framing.shapes.answer_hints == hints


@given(
    space=spaces(max_terms=3),
    digits=st.integers(1, 25),
    seed=st.integers(0, 2**32 - 1),
    reverse_input=st.booleans(),
    autoregressive=st.booleans(),
)
@settings(max_examples=30, deadline=None)
def test_a_question_s_hints_are_the_same_alone_and_beside_any_others(
    space, digits, seed, reverse_input, autoregressive
):
    rng = np.random.default_rng(seed)
    wider = space.with_changes(mode="range", low=0, largest=10**digits - 1)
    problems = Problems.concat([sample(space, 10, rng), sample(wider, 10, rng)])
    problems = problems.take(rng.permutation(len(problems)))
    framing = _framing(space, 160, "right", reverse_input, autoregressive)
    layouts = layouts_for(framing, problems, any_length=True)
    symbols, text = framing.alphabet.symbols, problems.questions()
    for fitted, rows in layouts.groups():
        together = _question_features(fitted, problems.take(rows))
        for k, i in enumerate(rows):
            typed = parse_questions([text[i]], symbols, space.operations)
            for one in (problems.take([i]), typed):  # as drawn, and typed on its own
                alone = layouts_for(framing, one, any_length=True).framings[0]
                assert (_question_features(alone, one)[0] == together[k]).all()
                if autoregressive:
                    first = alone.answer_offsets(one)
                    assert first == fitted.answer_offsets(problems.take(rows))[k]


def test_the_hash_reads_the_question_alone_whatever_its_integers_or_columns():
    space = ProblemSpace(2, 3, low=0, largest=10**6)
    problems = sample(space, 50, np.random.default_rng(5))
    huge = parse_questions(["1" * 40 + "+2"], alphabet_for(space).symbols, ("+",))
    batch = Problems.concat([problems, huge])  # object operands now, three columns
    assert batch.operands.dtype == object and problems.operands.dtype == np.int64
    assert (question_hash(batch)[:50] == question_hash(problems)).all()
    assert question_hash(problems.take([0]))[0] == question_hash(problems)[0]
    swapped = Problems(problems.operands[:, [1, 0, 2]], problems.templates, problems.targets)
    assert (question_hash(swapped) != question_hash(problems)).mean() > 0.9  # order matters


def test_training_sees_every_hint_and_a_longer_question_needs_its_places():
    space = ProblemSpace(2, 2, mode="digits", min_digits=1, max_digits=3)
    framing = _framing(space, 16, "right", True, autoregressive=True)
    problems = sample(space, 2000, np.random.default_rng(1))
    x = framing.inputs(problems)
    # answers of up to 4 digits, then END: 5 tags, at offsets 0..11; 3-digit operands 0..13
    assert set(framing.answer_offsets(problems)) == set(range(12))
    assert set(x["answer_hint"].argmax(axis=-1).ravel()) == set(range(16))
    assert set(_tags(framing, x["question"]).ravel()) == {NO_TAG, *range(14)}
    long = ProblemSpace(2, 2, mode="range", low=10**11, largest=10**12 - 1)  # 12 digits
    questions = sample(long, 3, np.random.default_rng(3))
    assert (framing.fitted(long).hint_places(questions) == 14).all()  # a 13-digit sum, END
    short_range = _framing(space, 13, "right", True, autoregressive=True).fitted(long)
    with pytest.raises(ValueError, match="needs 14 position hints; there are 13"):
        short_range.inputs(questions)


@pytest.mark.parametrize("model", ["seq2seq", "teacher_forcing", "attention"])
def test_hints_off_leave_every_array_and_the_model_as_without_them(model):
    from addexp.models import build_model
    from addexp.pipeline import build_pipeline, layout

    cfg = compose([f"model={model}", "format.reverse_output=true", "data.max_terms=3"])
    assert cfg.format.position_hints == 0
    pipeline = build_pipeline(cfg)
    framing = pipeline.framing
    problems = sample(pipeline.space, 40, np.random.default_rng(7))
    fmt, alphabet = framing.text_format, framing.alphabet
    question = encode_inputs(
        alphabet.to_indices(fmt.questions(problems)), alphabet, "onehot", False
    )
    x = framing.inputs(problems)
    if model == "seq2seq":
        assert x.shape == question.shape and (x == question).all()
    else:
        assert sorted(x) == ["answer_in", "question"]
        assert x["question"].shape == question.shape and (x["question"] == question).all()
        tokens = framing.answer_tokens(problems)
        assert (x["answer_in"][:, 0] == alphabet.symbols.index(START)).all()
        assert (x["answer_in"][:, 1:] == tokens[:, :-1]).all()
    assert framing.shapes.input_shape == (fmt.question_width, len(alphabet))
    assert framing.shapes.answer_hints == 0
    assert "position_hints" not in layout(pipeline)  # what runs logged before hints existed
    names = {layer.name for layer in build_model(cfg.model, framing.shapes).layers}
    assert not {"answer_hint", "answer_with_hint"} & names
