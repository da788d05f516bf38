"""The teacher-forcing encoder-decoder with attention: every decoder step attends over every
encoder output (Bahdanau et al. 2015, additive; Luong et al. 2015, dot) before its softmax."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from addexp.config.checks import choice
from addexp.models import ModelFamily, recurrent
from addexp.models.recurrent import ATTENTION, RecurrentConfig

NAME = "attention"


@dataclass
class Config(RecurrentConfig):
    """Recurrent encoder-decoder reading its own output, attending over the question."""

    name: str = NAME  # the family, as model=NAME chose it
    attention: str = "additive"  # additive (Bahdanau) | dot (Luong)


def build(cfg: Any, shapes: Any) -> Any:
    """The training model (`recurrent.build`) with `model.attention` over the encoder's
    outputs: {question, answer_in} -> (batch, answer steps, symbols) softmax."""
    return recurrent.build(cfg, shapes, attention=cfg.attention)


def check(m: Any) -> None:
    """The decoder's keys (`recurrent.check_decoder`) and the attention's kind."""
    recurrent.check_decoder(m)
    choice("model.attention", m.attention, list(ATTENTION))


def figures(model: Any, framing: Any, problems: Any, folder: Any) -> list[Any]:
    """An attention-map plot for the first few problems (`attention/maps.png`)."""
    from addexp.framing.base import END

    sample = problems.take(slice(0, 4))
    tokens, weights = recurrent.attention_maps(model, framing, sample)
    questions = framing.text_format.questions(sample)  # as the encoder reads them
    symbols = framing.alphabet.symbols
    answers = [[symbols[t] for t in row] for row in tokens]
    answers = [row[: row.index(END) + 1] if END in row else row for row in answers]
    folder.mkdir(parents=True, exist_ok=True)
    return [attention_plot([list(q) for q in questions], answers, weights, folder / "maps.png")]


FAMILY = ModelFamily(
    name=NAME,
    framing="autoregressive",
    schema=Config,
    build=build,
    description="teacher forcing with attention over the question at every answer step",
    any_length=True,
    position_hints=True,
    beam_search=True,
    decode=recurrent.decode,  # greedy or beam search (`model.beam_width`), batch by batch
    figures=figures,
    check=check,
)


def attention_plot(
    questions: list[list[str]], answers: list[list[str]], weights: np.ndarray, path: Path
) -> Path:
    """One heat map per question: rows the answer symbols written (in the order the decoder
    wrote them), columns the question's symbols as the encoder read them (padding shown as
    '·'), cells the attention weight (0-1) of that step on that symbol. `weights`: (n, answer
    steps, question steps)."""
    import matplotlib

    matplotlib.use("Agg")  # no display
    import matplotlib.pyplot as plt

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
