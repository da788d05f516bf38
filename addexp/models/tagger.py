"""A per-step tagger: recurrent layers returning sequences and a softmax per step.

It reads the `aligned` format (one step per place value, least significant first) and writes
one answer digit per step, so it reads and writes numbers of any length: the carry is the only
thing a step needs from the steps before it. Up to `model.unroll_max_steps` places its layers are
unrolled (`addexp.models.unrolling`); other numbers of places are read by a twin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from addexp.models import ModelFamily
from addexp.models.forward import forward
from addexp.models.recurrent import RecurrentLayers, check_layers

NAME = "tagger"


@dataclass
class Config(RecurrentLayers):
    """Stacked recurrent layers over the aligned places (`bidirectional`: also from the most
    significant place down; unrolled when the layout has at most `unroll_max_steps` places), a
    softmax over digits per place."""

    name: str = NAME  # the family, as model=NAME chose it
    units: list[int] = field(default_factory=lambda: [32])  # one recurrent layer per entry


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model: (batch, places, terms x 10) one-hot digits -> (batch, places, 10) softmax;
    the number of places is free unless the layers are unrolled (then it is the layout's)."""
    import keras
    from keras import layers

    from addexp.models.recurrent import CELLS
    from addexp.models.unrolling import unrolled

    cell = getattr(layers, CELLS[cfg.cell])
    unroll = unrolled(shapes.input_shape[0], cfg.unroll_max_steps)
    steps = shapes.input_shape[0] if unroll else None
    inputs = keras.Input(shape=(steps, shapes.input_shape[1]), name="places")
    x = inputs
    for i, units in enumerate(cfg.units):
        rnn = cell(
            units,
            return_sequences=True,
            dropout=cfg.dropout,
            recurrent_dropout=cfg.recurrent_dropout,
            unroll=unroll,
            name=f"tagger_{i}",
        )
        x = (
            layers.Bidirectional(rnn, name=f"tagger_{i}_bidirectional")(x)
            if cfg.bidirectional
            else rnn(x)
        )
    outputs = layers.Dense(shapes.output_symbols, activation="softmax", name="digit")(x)
    return keras.Model(inputs, outputs, name=NAME)


def decode(model: Any, framing: Any, problems: Any, batch_size: int, cfg: Any) -> Any:
    """Answers to `problems` in `framing`'s layout: one forward pass of `model`, or of a twin
    (`unrolling.for_lengths`) unrolled, or not, as this number of places asks."""
    from addexp.models.unrolling import for_lengths, unrolled

    steps, most = framing.steps, cfg.unroll_max_steps
    fixed = steps if unrolled(steps, most) else None
    model = for_lengths(model, {"places": fixed}, lambda _: steps, most)
    outputs = forward(model, framing.inputs(problems), batch_size)
    return framing.answers(outputs)


FAMILY = ModelFamily(
    name=NAME,
    framing="aligned",
    schema=Config,
    build=build,
    description="recurrent layers over the aligned places, one answer digit per place",
    any_length=True,
    decode=decode,
    check=check_layers,
)
