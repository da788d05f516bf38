"""The tutorial's "beginner's mistake": stacked LSTM regressing the scaled sum of scaled terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from addexp.models import ModelFamily
from addexp.models.checks import layer_sizes

NAME = "mapping_lstm"


@dataclass
class Config:
    """Stacked LSTM regressing the scaled sum from the scaled terms (the beginner's mistake)."""

    name: str = NAME  # the family, as model=NAME chose it
    units: list[int] = field(default_factory=lambda: [6, 2])  # LSTM sizes; then Dense(1)


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model: (batch, terms, 1) scaled terms -> (batch, 1) scaled sum."""
    import keras
    from keras import layers

    from addexp.models.inputs import sequence_input

    inputs, x = sequence_input(shapes, "terms")  # (terms, 1): one term per step
    units = list(cfg.units)
    for i, size in enumerate(units):
        x = layers.LSTM(size, return_sequences=i < len(units) - 1, name=f"lstm_{i}")(x)
    outputs = layers.Dense(1, name="sum")(x)
    return keras.Model(inputs, outputs, name=NAME)


FAMILY = ModelFamily(
    name=NAME,
    framing="mapping",
    schema=Config,
    build=build,
    description="stacked LSTM regressing the scaled sum (the beginner's mistake)",
    any_length=False,  # the scale and the number of terms are fixed by training
    check=lambda m: layer_sizes(m, "units"),
)
