"""The tutorial's MLP on the same scaled terms: it solves the mapping with linear Dense layers."""

from __future__ import annotations

import keras
from keras import layers

NAME = "mlp"
FRAMING = "mapping"


def build(cfg, shapes) -> keras.Model:
    inputs = keras.Input(shape=shapes.input_shape, name="terms")
    x = layers.Flatten(name="flatten")(inputs)  # (terms, 1) -> (terms,): no weights
    for i, size in enumerate(cfg.units):
        x = layers.Dense(size, activation=cfg.activation, name=f"dense_{i}")(x)
    outputs = layers.Dense(1, name="sum")(x)
    return keras.Model(inputs, outputs, name=NAME)
