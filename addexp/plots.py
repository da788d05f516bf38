"""Learning curves as a PNG artifact (matplotlib without a display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

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
