"""A causal 1-D convolutional tagger over the aligned format: each place's digit from that place
and the places below it (dilated convolutions, so the carry can come from several places down)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from addexp.config.checks import at_least
from addexp.models import ModelFamily
from addexp.models.checks import layer_sizes

NAME = "conv_tagger"


@dataclass
class Config:
    """Causal Conv1D layers (one per entry of `filters`, dilation doubling), a softmax per place."""

    name: str = NAME
    filters: list[int] = field(default_factory=lambda: [32, 32])
    kernel_size: int = 2


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model: (batch, places, terms x 10) one-hot digits -> (batch, places, 10) softmax;
    the number of places is free."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None, shapes.input_shape[1]), name="places")
    x = inputs
    for i, filters in enumerate(cfg.filters):
        x = layers.Conv1D(
            filters, cfg.kernel_size, padding="causal", dilation_rate=2**i, activation="relu"
        )(x)
    outputs = layers.Dense(shapes.output_symbols, activation="softmax", name="digit")(x)
    return keras.Model(inputs, outputs, name=NAME)


def check(m: Any) -> None:
    layer_sizes(m, "filters")
    at_least("model.kernel_size", m.kernel_size, 1)


FAMILY = ModelFamily(
    name=NAME,
    framing="aligned",
    schema=Config,
    build=build,
    description="causal dilated Conv1D layers over the aligned places",
    any_length=True,
    check=check,
)
