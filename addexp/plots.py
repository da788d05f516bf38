"""Learning curves as a PNG artifact (matplotlib without a display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def learning_curves(history: list[dict[str, float]], path: Path, title: str) -> Path:
    """One panel per metric name (loss, accuracy, ...), train and val on the same axes."""
    names = sorted({key.split("/", 1)[1] for epoch in history for key in epoch})
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


def attention_plot(
    questions: list[list[str]], answers: list[list[str]], weights: np.ndarray, path: Path
) -> Path:
    """One heat map per question: rows the answer symbols written (in the order the decoder
    wrote them), columns the question's symbols as the encoder read them (padding shown as
    '·'), cells the attention weight (0-1) of that step on that symbol. `weights`: (n, answer
    steps, question steps)."""
    n = len(questions)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
    for i, (ax, question, answer, w) in enumerate(
        zip(axes[0], questions, answers, weights, strict=True)
    ):
        shown = [str(c) if c != " " else "·" for c in question]
        image = ax.imshow(w[: len(answer), : len(question)], vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(shown)), shown)
        ax.set_yticks(range(len(answer)), [str(c) for c in answer])
        ax.set_title("".join(shown), fontsize=9)
        ax.set_xlabel("question (encoder's order)")
        if i == 0:
            ax.set_ylabel("answer symbol written")
    fig.colorbar(image, ax=axes[0].tolist(), label="attention weight", shrink=0.8)
    fig.suptitle("Attention of each decoder step over the question")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
