"""The tutorial's "beginner's mistake": stacked LSTM regressing the scaled sum of scaled terms."""

from __future__ import annotations

import keras
from keras import layers

from addexp.models.inputs import sequence_input

NAME = "mapping_lstm"
FRAMING = "mapping"


def build(cfg, shapes) -> keras.Model:
    inputs, x = sequence_input(shapes, "terms")  # (terms, 1): one term per step
    units = list(cfg.units)
    for i, size in enumerate(units):
        x = layers.LSTM(size, return_sequences=i < len(units) - 1, name=f"lstm_{i}")(x)
    outputs = layers.Dense(1, name="sum")(x)
    return keras.Model(inputs, outputs, name=NAME)
