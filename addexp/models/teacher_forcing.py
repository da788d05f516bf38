"""Encoder-decoder whose decoder reads its previous answer symbol, trained with teacher forcing
and decoded greedily or by beam search (keras-io `lstm_seq2seq`; Sutskever et al. 2014)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from addexp.models import ModelFamily, recurrent
from addexp.models.recurrent import RecurrentConfig

NAME = "teacher_forcing"


@dataclass
class Config(RecurrentConfig):
    """Recurrent encoder, decoder initialised with its final states, reading its own output."""

    name: str = NAME  # the family, as model=NAME chose it


def build(cfg: Any, shapes: Any) -> Any:
    """The training model (`recurrent.build`): {question, answer_in} -> (batch, answer steps,
    symbols) softmax."""
    return recurrent.build(cfg, shapes)


FAMILY = ModelFamily(
    name=NAME,
    framing="autoregressive",
    schema=Config,
    build=build,
    description="recurrent encoder-decoder reading its own answers (teacher forcing)",
    any_length=True,  # reads questions of any length and writes until END
    position_hints=True,
    beam_search=True,
    decode=recurrent.decode,  # greedy or beam search (`model.beam_width`), batch by batch
    check=recurrent.check_decoder,
)
