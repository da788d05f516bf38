"""Answer plots from plain character arrays: the numbers behind them, and readable PNGs."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from addexp.evaluation.plots import (
    answer_plots,
    confusion_counts,
    position_accuracy,
    symbol_confusion,
)
from addexp.text.formats import char_matrix, pad, render_integers


def _chars(values, width: int = 3) -> np.ndarray:
    return char_matrix(pad(render_integers(np.asarray(values)), width, "left"), width)


def test_confusion_counts_every_position_by_expected_and_predicted_symbol():
    expected, predicted = _chars([12, -35, 7]), _chars([13, 135, 7])
    symbols, counts = confusion_counts(expected, predicted)
    assert symbols == ["1", "2", "3", "5", "7", "-", " "]  # digits, other symbols, pad last
    at = {(symbols[i], symbols[j]): int(counts[i, j]) for i, j in np.argwhere(counts)}
    assert at == {
        (" ", " "): 3,  # one before 12, two before 7
        ("1", "1"): 1,
        ("2", "3"): 1,
        ("-", "1"): 1,
        ("3", "3"): 1,
        ("5", "5"): 1,
        ("7", "7"): 1,
    }
    assert counts.sum() == expected.size


def test_plots_reject_arrays_of_different_shapes():
    with pytest.raises(ValueError, match=r"\(n, width\)"):
        confusion_counts(_chars([1, 2]), _chars([1, 2, 3]))
    with pytest.raises(ValueError, match="n >= 1"):
        confusion_counts(np.empty((0, 3), "<U1"), np.empty((0, 3), "<U1"))


def test_answer_plots_write_readable_pngs(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.integers(-20, 200, 300)
    noisy = values + (rng.random(300) < 0.3) * rng.integers(-3, 4, 300)
    expected, predicted = _chars(values, 4), _chars(noisy, 4)
    paths = answer_plots(expected, predicted, tmp_path, "seq2seq-seed1")
    assert [p.name for p in paths] == ["answer_positions.png", "answer_confusion.png"]
    for path in paths:
        image = matplotlib.image.imread(path)
        assert image.shape[0] >= 300 and image.shape[1] >= 400  # pixels: big enough to read
        assert image[..., :3].std() > 0.05  # not blank
    # figure sizes follow the data: a wider answer gives a wider position chart
    narrow = position_accuracy(
        _chars(values[:10], 4), _chars(values[:10], 4), tmp_path / "n.png", "t"
    )
    wide = position_accuracy(_chars(values, 9), _chars(noisy, 9), tmp_path / "w.png", "t")
    assert matplotlib.image.imread(wide).shape[1] > matplotlib.image.imread(narrow).shape[1]
    more = symbol_confusion(expected, predicted, tmp_path / "c.png", "t")  # 13 symbols
    fewer = symbol_confusion(_chars([1, 2]), _chars([1, 2]), tmp_path / "f.png", "t")  # 3
    assert matplotlib.image.imread(more).shape[0] > matplotlib.image.imread(fewer).shape[0]
