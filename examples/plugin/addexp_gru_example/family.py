"""The tutorial's encoder-decoder with GRU cells: a GRU encoder, RepeatVector(answer width), a
GRU decoder and a softmax per answer step, read and written in the seq2seq framing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from addexp.config.checks import at_least
from addexp.models import ModelFamily

NAME = "gru_seq2seq"


@dataclass
class Config:
    """One GRU layer on each side."""

    name: str = NAME
    encoder_units: int = 100  # the encoder GRU's size
    decoder_units: int = 50  # the decoder GRU's size
    embedding_dim: int = 16  # size of the learned embedding (encoding=embedding)


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model: (batch, question width, features) or (batch, question width) indices ->
    (batch, answer width, symbols) softmax, both widths the run's layout's. The input stage
    (embedding, masking) is addexp's own (`addexp.models.inputs`)."""
    import keras
    from keras import layers

    from addexp.models.inputs import sequence_input

    question, x = sequence_input(shapes, "question", cfg.embedding_dim)
    x = layers.GRU(cfg.encoder_units, name="encoder")(x)
    x = layers.RepeatVector(shapes.output_steps, name="repeat")(x)
    x = layers.GRU(cfg.decoder_units, return_sequences=True, name="decoder")(x)
    outputs = layers.Dense(shapes.output_symbols, activation="softmax", name="answer")(x)
    return keras.Model(question, outputs, name=NAME)


def check(m: Any) -> None:
    """Raises ConfigError for a layer of no units."""
    at_least("model.encoder_units", m.encoder_units, 1)
    at_least("model.decoder_units", m.decoder_units, 1)
    at_least("model.embedding_dim", m.embedding_dim, 1)


FAMILY = ModelFamily(
    name=NAME,
    framing="seq2seq",
    schema=Config,
    build=build,
    description="GRU encoder, RepeatVector, GRU decoder, softmax per answer step",
    check=check,
)
