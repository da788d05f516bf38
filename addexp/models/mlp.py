"""The tutorial's MLP on the same scaled terms: it solves the mapping with linear Dense layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from addexp.models import ModelFamily
from addexp.models.checks import layer_sizes

NAME = "mlp"


@dataclass
class Config:
    """Dense layers regressing the scaled sum from the scaled terms."""

    name: str = NAME  # the family, as model=NAME chose it
    units: list[int] = field(default_factory=lambda: [4, 2])  # Dense sizes before Dense(1)
    activation: str = "linear"  # the tutorial's Dense layers have none


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model: (batch, terms, 1) scaled terms -> (batch, 1) scaled sum."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=shapes.input_shape, name="terms")
    x = layers.Flatten(name="flatten")(inputs)  # (terms, 1) -> (terms,): no weights
    for i, size in enumerate(cfg.units):
        x = layers.Dense(size, activation=cfg.activation, name=f"dense_{i}")(x)
    outputs = layers.Dense(1, name="sum")(x)
    return keras.Model(inputs, outputs, name=NAME)


FAMILY = ModelFamily(
    name=NAME,
    framing="mapping",
    schema=Config,
    build=build,
    description="Dense layers regressing the scaled sum from the scaled terms",
    masks_input=False,  # sees every term: nothing to mask
    check=lambda m: layer_sizes(m, "units"),
)
