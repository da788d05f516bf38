"""The mapping framing scales as the tutorial does, pads missing terms, scores like seq2seq."""

from __future__ import annotations

import numpy as np

from addexp.evaluate import predictions_table, score
from addexp.framings import MAPPING_PAD, MappingFraming, expected_chars
from addexp.problems import MISSING, Problems, ProblemSpace
from addexp.text import TextFormat


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
    assert framing.invert(np.array([[0.305], [0.9976]])).tolist() == [61, 200]


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
    metrics = score(p, expected, answers)
    assert metrics["exact_match"] == 0.5
    # widths are 3: " 61"/" 61", "  2"/"  3", "100"/"???" (too wide: -200), "  7"/"  7"
    assert metrics["char_accuracy"] == (3 + 2 + 0 + 3) / 12
    assert np.isclose(metrics["rmse"], np.sqrt((0 + 1 + 300**2 + 0) / 4))
    assert metrics["invalid_rate"] == 0.0
    table = predictions_table(p, expected, answers)
    assert table["input"].tolist() == ["50+11", "1+1", "60+40", "3+4"]
    assert table["predicted"].tolist() == ["61", "3", "???", "7"]
    assert table["correct"].tolist() == [True, False, False, True]
