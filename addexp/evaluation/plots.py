"""Plots logged as PNG artifacts, which the MLflow UI previews (matplotlib without a display):
learning curves, accuracy per answer position, and predicted against expected symbol."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def learning_curves(history: list[dict[str, float]], path: Path, title: str) -> Path:
    """One panel per metric name (loss, accuracy, ...), train and val on the same axes (other
    per-epoch metrics, such as a curriculum's, have no panel)."""
    split_names = [key.split("/", 1) for epoch in history for key in epoch]
    names = sorted({name for split, name in split_names if split in ("train", "val")})
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    epochs = range(1, len(history) + 1)
    for ax, name in zip(axes[0], names, strict=True):
        for split in ("train", "val"):
            values = [epoch.get(f"{split}/{name}", float("nan")) for epoch in history]
            if any(v == v for v in values):  # skip series that are all NaN
                ax.plot(epochs, values, marker=".", label=split)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


AXIS_LABELS = {
    "digits": "digits of the widest operand",
    "carries": "carries in the sum",
    "carry_chain": "longest carry chain (columns)",
}


def breakdown_plot(table: dict, path: Path, title: str) -> Path:
    """Bars of exact match (0-1) per value of each breakdown axis, the number of questions
    above each bar, so "fails from 7 digits on" or "fails on long carry chains" reads at a
    glance. `table`: the columns of `breakdown.breakdown`."""
    axes_present = [a for a in AXIS_LABELS if (table["axis"] == a).any()]
    fig, axes = plt.subplots(
        1, max(len(axes_present), 1), figsize=(4.2 * max(len(axes_present), 1), 3.4), squeeze=False
    )
    for ax, axis in zip(axes[0], axes_present, strict=False):
        rows = table["axis"] == axis
        values, exact, n = table["value"][rows], table["exact_match"][rows], table["examples"][rows]
        positions = np.arange(len(values))
        bars = ax.bar(positions, exact, color="tab:blue")
        ax.set_xticks(positions, [str(v) for v in values])
        ax.bar_label(bars, labels=[f"n={k}" for k in n], fontsize=7, rotation=90, padding=2)
        ax.set_ylim(0, 1.25)
        ax.set_xlabel(AXIS_LABELS[axis])
        ax.set_ylabel("exact match (share of answers)")
        ax.set_title(f"by {axis.replace('_', ' ')}")
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _check_pair(
    expected: np.ndarray, predicted: np.ndarray, own: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arrays as NumPy arrays and `own` (None: every position); ValueError unless all are
    equal (n, width), n >= 1."""
    expected, predicted = np.asarray(expected), np.asarray(predicted)
    own = np.ones(expected.shape, bool) if own is None else np.asarray(own, bool)
    shapes = {expected.shape, predicted.shape, own.shape}
    if expected.ndim != 2 or len(shapes) != 1 or expected.shape[0] == 0:
        raise ValueError(
            f"expected and predicted (and own) must be equal (n, width) arrays with n >= 1; "
            f"got {expected.shape}, {predicted.shape} and {own.shape}"
        )
    return expected, predicted, own


def position_accuracy(
    expected: np.ndarray,
    predicted: np.ndarray,
    path: Path,
    title: str,
    pad: str = " ",
    own: np.ndarray | None = None,
) -> Path:
    """Bar chart of the share of answers right at each answer position, left to right as a
    person reads the answer (the model may have written it reversed), with the share of answers
    that hold a symbol other than the pad there, so positions that are mostly padding show.

    `expected`, `predicted`: (n, width) single characters in reading order; `own`: (n, width)
    bool, the positions each answer's own layout holds (`Layouts.own`; None: all), so the
    padding that puts narrower layouts into one array is left out: shares at a position are
    over the answers whose layout holds it. Writes a PNG to `path` and returns it. Raises
    ValueError if the arrays are not equal (n, width), n >= 1.
    """
    expected, predicted, own = _check_pair(expected, predicted, own)
    n, width = expected.shape
    held = np.maximum(own.sum(axis=0), 1)  # answers whose layout holds each position
    accuracy = 100 * ((expected == predicted) & own).sum(axis=0) / held
    occupied = 100 * ((expected != pad) & own).sum(axis=0) / held
    positions = np.arange(1, width + 1)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * width + 2), 3.4))
    bars = ax.bar(positions, accuracy, color="tab:blue", label="right at this position")
    ax.plot(positions, occupied, "k_", markersize=24, mew=2, label="answers with a symbol here")
    ax.bar_label(bars, fmt="%.0f%%", padding=2, fontsize=8)
    ax.set_xticks(positions, [str(p) for p in positions])
    ax.set_xlabel("answer position (1 = leftmost, as read)")
    ax.set_ylabel("share of answers (%)")
    ax.set_ylim(0, 135)
    ax.set_yticks(range(0, 101, 20))
    ax.set_title(f"{title}\naccuracy per answer position ({n} answers)", fontsize=10)
    ax.legend(loc="upper center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _symbol_order(symbols: np.ndarray, pad: str) -> list[str]:
    """Digits in numeric order, then the other symbols, the pad last."""
    present = set(symbols.tolist())
    digits = [d for d in "0123456789" if d in present]
    others = sorted(present - set(digits) - {pad})
    return digits + others + ([pad] if pad in present else [])


def confusion_counts(
    expected: np.ndarray, predicted: np.ndarray, pad: str = " ", own: np.ndarray | None = None
) -> tuple[list[str], np.ndarray]:
    """(symbols, counts): counts[i, j] is how often expected symbol i was predicted as symbol j,
    over every position of (n, width) character arrays that `own` holds; symbols are the digits
    in order, then the other symbols present there, the pad last. Raises ValueError if the
    arrays are not equal (n, width).
    """
    expected, predicted, own = _check_pair(expected, predicted, own)
    expected, predicted = expected[own], predicted[own]
    symbols = _symbol_order(np.concatenate([expected, predicted]), pad)
    table = np.array(symbols)
    order = np.argsort(table)  # index of each symbol in display order, found by binary search
    rows = order[np.searchsorted(table[order], expected)]
    cols = order[np.searchsorted(table[order], predicted)]
    counts = np.zeros((len(symbols), len(symbols)), dtype=np.int64)
    np.add.at(counts, (rows, cols), 1)
    return symbols, counts


def symbol_confusion(
    expected: np.ndarray,
    predicted: np.ndarray,
    path: Path,
    title: str,
    pad: str = " ",
    own: np.ndarray | None = None,
) -> Path:
    """Heat map of predicted against expected answer symbol over every answer position: rows are
    the expected symbol, columns the predicted one, colour the share of that row (%), each cell
    labelled with its count; the pad is labelled `pad`. A perfect model fills the diagonal.

    `expected`, `predicted`: (n, width) single characters in reading order; only positions
    that `own` holds are counted. Writes a PNG to `path` and returns it. Raises ValueError if
    the arrays are not equal (n, width), n >= 1.
    """
    symbols, counts = confusion_counts(expected, predicted, pad, own)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(100 * counts, totals, out=np.zeros(counts.shape), where=totals > 0)

    labels = ["pad" if s == pad else s for s in symbols]
    size = 1.6 + 0.55 * len(symbols)
    fig, ax = plt.subplots(figsize=(size + 1.4, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=100)
    for (i, j), count in np.ndenumerate(counts):
        if count:
            colour = "white" if share[i, j] > 60 else "black"
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(symbols)), labels)
    ax.set_yticks(range(len(symbols)), labels)
    ax.set_xlabel("predicted symbol")
    ax.set_ylabel("expected symbol")
    positions = int(counts.sum())
    ax.set_title(f"{title}\npredicted vs expected symbol ({positions} positions)", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of expected symbol (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def answer_plots(
    expected: np.ndarray,
    predicted: np.ndarray,
    folder: Path,
    title: str,
    own: np.ndarray | None = None,
) -> list[Path]:
    """Both answer plots of a test set into `folder`: `answer_positions.png` and
    `answer_confusion.png` (see `position_accuracy` and `symbol_confusion` for the arrays and
    `own`, the positions of each answer's own layout)."""
    return [
        position_accuracy(expected, predicted, folder / "answer_positions.png", title, own=own),
        symbol_confusion(expected, predicted, folder / "answer_confusion.png", title, own=own),
    ]
