"""The mapping framing scales as the tutorial does, pads missing terms, scores like seq2seq; an
output that is not a number is never a valid answer, in either framing."""

from __future__ import annotations

import numpy as np
import pytest

from addexp.evaluation.metrics import Scored, compute
from addexp.evaluation.scoring import evaluate_set, predictions_table
from addexp.framing.base import expected_chars
from addexp.framing.mapping import MAPPING_PAD, MappingFraming
from addexp.models import build_model
from addexp.problems.sampling import sample
from addexp.problems.space import MISSING, Problems, ProblemSpace
from addexp.text.formats import TextFormat
from addexp.training.pipeline import build_pipeline
from tests.conftest import compose


def _mapping(masking: bool = False, terms: int = 2):
    space = ProblemSpace(2, terms, low=1, largest=100)
    fmt = TextFormat.for_spaces([space], "left", False)
    return MappingFraming(fmt, terms, float(terms * 100), masking)


def _sums(rows):
    operands = np.array(rows)
    templates = np.array(["+".join("#" * int((r != MISSING).sum())) for r in operands])
    return Problems(operands, templates, np.where(operands == MISSING, 0, operands).sum(1))


def test_mapping_scales_by_terms_times_largest_and_inverts_with_rounding():
    framing = _mapping()
    p = _sums([[50, 11], [100, 100]])
    assert np.allclose(framing.inputs(p)[..., 0], [[0.25, 0.055], [0.5, 0.5]])
    assert np.allclose(framing.targets(p)[:, 0], [0.305, 1.0])
    values, valid = framing.invert(np.array([[0.305], [0.9976]]))
    assert values.tolist() == [61, 200] and valid.all()


def test_missing_terms_are_padded_and_masked():
    framing = _mapping(masking=True, terms=3)
    p = _sums([[50, 10, MISSING], [1, 2, 3]])
    x = framing.inputs(p)[..., 0]
    assert x[0, 2] == MAPPING_PAD and (x[1] > 0).all()
    assert framing.shapes.mask_value == MAPPING_PAD


def test_scores_count_whole_answers_characters_and_integer_error():
    framing = _mapping()
    p = _sums([[50, 11], [1, 1], [60, 40], [3, 4]])
    outputs = np.array([[61 / 200], [3 / 200], [-1.0], [7 / 200]])  # right, off by 1, -200, right
    answers = framing.answers(outputs)
    expected = expected_chars(framing.text_format, p)
    metrics = compute(Scored(p, expected, answers))
    assert metrics["exact_match"] == 0.5
    # widths are 3: " 61"/" 61", "  2"/"  3", "100"/"???" (too wide: -200), "  7"/"  7"
    assert metrics["char_accuracy"] == (3 + 2 + 0 + 3) / 12
    assert np.isclose(metrics["rmse"], np.sqrt((0 + 1 + 300**2 + 0) / 4))
    assert metrics["invalid_rate"] == 0.0
    table = predictions_table(p, expected, answers)
    assert table["input"].tolist() == ["50+11", "1+1", "60+40", "3+4"]
    assert table["predicted"].tolist() == ["61", "3", "???", "7"]
    assert table["correct"].tolist() == [True, False, False, True]


def test_nan_infinite_and_overflowing_mapping_outputs_are_invalid_answers():
    framing = _mapping()
    p = _sums([[50, 11], [1, 1], [60, 40], [3, 4]])
    outputs = np.array([[np.nan], [np.inf], [-np.inf], [1e300]])  # the last overflows int64
    answers = framing.answers(outputs)
    assert answers.valid.tolist() == [False] * 4 and answers.values.tolist() == [0] * 4
    metrics = compute(Scored(p, expected_chars(framing.text_format, p), answers))
    assert metrics["invalid_rate"] == 1.0 and np.isnan(metrics["rmse"])
    assert metrics["exact_match"] == 0.0 and metrics["char_accuracy"] == 0.0
    values, valid = framing.invert(np.array([[0.305], [np.nan]]))
    assert values.tolist() == [61, 0] and valid.tolist() == [True, False]


def test_a_seq2seq_row_with_any_nan_output_is_invalid_and_scores_no_character():
    pipeline = build_pipeline(compose([]))
    framing, space = pipeline.framing, pipeline.space
    p = sample(space, 3, np.random.default_rng(0))
    right = framing.targets(p).copy()  # one-hot: a perfect model's softmax
    right[1, 0, 0] = np.nan  # one step of one row is no number
    right[2] = np.inf
    answers = framing.answers(right)
    assert answers.valid.tolist() == [True, False, False]
    assert answers.text.tolist()[1:] == ["??", "??"]
    expected = expected_chars(framing.text_format, p)
    assert (answers.chars[1:] != expected[1:]).all()  # not even the padding counts as right
    assert answers.values[0] == p.targets[0]


@pytest.mark.parametrize("preset", ["tutorial_mapping_mlp", "tutorial_seq2seq"])
def test_a_model_with_nan_weights_gives_only_invalid_answers(preset):
    cfg = compose([f"experiment={preset}"])
    pipeline = build_pipeline(cfg)
    model = build_model(cfg.model, pipeline.framing.shapes)
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    problems = sample(pipeline.space, 20, np.random.default_rng(1))
    result = evaluate_set(model, pipeline.family, pipeline.framing, problems, None)
    assert result.metrics["invalid_rate"] == 1.0 and np.isnan(result.metrics["rmse"])
    assert result.metrics["exact_match"] == 0.0 and result.metrics["char_accuracy"] == 0.0
