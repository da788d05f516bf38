"""Encoder-decoder whose decoder reads its previous answer symbol, trained with teacher forcing
and decoded greedily or by beam search (keras-io `lstm_seq2seq`; Sutskever et al. 2014)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from addexp.models import recurrent
from addexp.models.recurrent import RecurrentConfig

NAME = "teacher_forcing"
FRAMING = "autoregressive"
ANY_LENGTH = True  # reads questions of any length and writes until END


@dataclass
class Config(RecurrentConfig):
    """Recurrent encoder, decoder initialised with its final states, reading its own output."""

    name: str = NAME


def build(cfg: Any, shapes: Any) -> Any:
    return recurrent.build(cfg, shapes)


def decode(model: Any, framing: Any, problems: Any, batch_size: int, cfg: Any) -> Any:
    return recurrent.decode(model, framing, problems, batch_size, cfg)
