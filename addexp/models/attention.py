"""The teacher-forcing encoder-decoder with attention: every decoder step attends over every
encoder output (Bahdanau et al. 2015, additive; Luong et al. 2015, dot) before its softmax."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from addexp.models import recurrent
from addexp.models.recurrent import RecurrentConfig

NAME = "attention"
FRAMING = "autoregressive"
ANY_LENGTH = True


@dataclass
class Config(RecurrentConfig):
    """Recurrent encoder-decoder reading its own output, attending over the question."""

    name: str = NAME
    attention: str = "additive"  # additive (Bahdanau) | dot (Luong)


def build(cfg: Any, shapes: Any) -> Any:
    """The training model (`recurrent.build`) with `model.attention` over the encoder's
    outputs: {question, answer_in} -> (batch, answer steps, symbols) softmax."""
    return recurrent.build(cfg, shapes, attention=cfg.attention)


decode = recurrent.decode  # greedy or beam search (`model.beam_width`), batch by batch


def figures(model: Any, framing: Any, problems: Any, folder: Any) -> list[Any]:
    """An attention-map plot for the first few problems (`attention/maps.png`)."""
    from addexp.evaluation.plots import attention_plot
    from addexp.framing.framings import END

    sample = problems.take(slice(0, 4))
    tokens, weights = recurrent.attention_maps(model, framing, sample)
    questions = framing.text_format.questions(sample)  # as the encoder reads them
    symbols = framing.alphabet.symbols
    answers = [[symbols[t] for t in row] for row in tokens]
    answers = [row[: row.index(END) + 1] if END in row else row for row in answers]
    folder.mkdir(parents=True, exist_ok=True)
    return [attention_plot([list(q) for q in questions], answers, weights, folder / "maps.png")]
