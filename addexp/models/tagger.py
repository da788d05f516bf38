"""A per-step tagger: recurrent layers returning sequences and a softmax per step.

It reads the `aligned` format (one step per place value, least significant first) and writes
one answer digit per step, so it reads and writes numbers of any length: the carry is the only
thing a step needs from the steps before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAME = "tagger"
FRAMING = "aligned"
ANY_LENGTH = True


@dataclass
class Config:
    """Stacked recurrent layers over the aligned places, a softmax over digits per place."""

    name: str = NAME
    cell: str = "lstm"  # lstm | gru | simple_rnn
    units: list[int] = field(default_factory=lambda: [32])  # one recurrent layer per entry
    bidirectional: bool = False  # also read from the most significant place down
    dropout: float = 0.0
    recurrent_dropout: float = 0.0


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model: (batch, places, terms x 10) one-hot digits -> (batch, places, 10) softmax;
    the number of places is free."""
    import keras
    from keras import layers

    from addexp.models.recurrent import CELLS

    cell = getattr(layers, CELLS[cfg.cell])
    inputs = keras.Input(shape=(None, shapes.input_shape[1]), name="places")
    x = inputs
    for i, units in enumerate(cfg.units):
        rnn = cell(
            units,
            return_sequences=True,
            dropout=cfg.dropout,
            recurrent_dropout=cfg.recurrent_dropout,
            name=f"tagger_{i}",
        )
        x = (
            layers.Bidirectional(rnn, name=f"tagger_{i}_bidirectional")(x)
            if cfg.bidirectional
            else rnn(x)
        )
    outputs = layers.Dense(shapes.output_symbols, activation="softmax", name="digit")(x)
    return keras.Model(inputs, outputs, name=NAME)
