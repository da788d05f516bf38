"""The tutorial's encoder-decoder: LSTM encoder, RepeatVector, LSTM decoder, softmax per step.

The weights depend neither on the question's length nor on how many steps RepeatVector repeats,
so the family reads any length: to answer questions of another layout, `decode` runs a twin of
the trained model built for that layout's widths, with the same weights.

Short sequences are unrolled (`addexp.models.unrolling`): the encoder when the question has
at most `model.unroll_max_steps` steps, the decoder when the answer has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from addexp.config.checks import at_least
from addexp.models import ModelFamily
from addexp.models.checks import layer_sizes, unrolling
from addexp.models.forward import forward

NAME = "seq2seq"


@dataclass
class Config:
    """Encoder-decoder: LSTM encoder layers, RepeatVector, LSTM decoder layers, softmax per step."""

    name: str = NAME  # the family, as model=NAME chose it
    encoder_units: list[int] = field(default_factory=lambda: [100])  # one LSTM per entry
    decoder_units: list[int] = field(default_factory=lambda: [50])  # one LSTM per entry
    embedding_dim: int = 16  # size of the learned embedding (encoding=embedding)
    unroll_max_steps: int = 32  # unroll the encoder, the decoder, if that short; 0: never


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model: (batch, steps, features) or (batch, steps) indices -> (batch,
    shapes.output_steps, shapes.output_symbols) softmax. `steps` is free unless the encoder is
    unrolled (then it is `shapes.input_shape[0]`, the layout's question width)."""
    import keras
    from keras import layers

    from addexp.models.inputs import sequence_input
    from addexp.models.unrolling import unrolled

    encoder_unrolled = unrolled(shapes.input_shape[0], cfg.unroll_max_steps)
    decoder_unrolled = unrolled(shapes.output_steps, cfg.unroll_max_steps)
    inputs, x = sequence_input(
        shapes, "question", cfg.embedding_dim, any_length=not encoder_unrolled
    )
    encoder = list(cfg.encoder_units)
    for i, units in enumerate(encoder):  # all but the last encoder layer pass on sequences
        x = layers.LSTM(
            units,
            return_sequences=i < len(encoder) - 1,
            unroll=encoder_unrolled,
            name=f"encoder_{i}",
        )(x)
    x = layers.RepeatVector(shapes.output_steps, name="repeat")(x)
    for i, units in enumerate(cfg.decoder_units):
        decoder = layers.LSTM(
            units, return_sequences=True, unroll=decoder_unrolled, name=f"decoder_{i}"
        )
        x = decoder(x)
    outputs = layers.TimeDistributed(
        layers.Dense(shapes.output_symbols, activation="softmax"), name="answer"
    )(x)
    return keras.Model(inputs, outputs, name=NAME)


def for_layout(model: Any, question_steps: int, answer_steps: int, max_steps: int) -> Any:
    """`unrolling.for_layout` with the RepeatVector's count set to `answer_steps`."""
    from addexp.models import unrolling

    def repeat(layer: dict) -> None:
        if layer["class_name"] == "RepeatVector":
            layer["config"]["n"] = answer_steps

    fits = model.output_shape[1] == answer_steps
    return unrolling.for_layout(
        model, question_steps, answer_steps, max_steps, edit=repeat, fits=fits
    )


def decode(model: Any, framing: Any, problems: Any, batch_size: int, cfg: Any) -> Any:
    """Answers to `problems` in `framing`'s layout, whatever its widths."""
    fmt = framing.text_format
    twin = for_layout(model, fmt.question_width, fmt.answer_width, cfg.unroll_max_steps)
    outputs = forward(twin, framing.inputs(problems), batch_size)
    return framing.answers(outputs)


def check(m: Any) -> None:
    """Layer sizes, the embedding's size and the unrolling limit."""
    layer_sizes(m, "encoder_units")
    layer_sizes(m, "decoder_units")
    at_least("model.embedding_dim", m.embedding_dim, 1)
    unrolling(m)


FAMILY = ModelFamily(
    name=NAME,
    framing="seq2seq",
    schema=Config,
    build=build,
    description="LSTM encoder -> RepeatVector -> LSTM decoder, a softmax per answer step",
    any_length=True,
    position_hints=True,
    decode=decode,
    check=check,
)
