"""The tutorial's encoder-decoder: LSTM encoder, RepeatVector, LSTM decoder, softmax per step.

The weights depend neither on the question's length nor on how many steps RepeatVector repeats,
so the family reads any length: to answer questions of another layout, `decode` runs a twin of
the trained model built for that layout's widths, with the same weights.

Short sequences are unrolled (Keras's `unroll=True`: the time steps written out as one graph
instead of a `tf.while_loop`) when they have at most `model.unroll_max_steps` steps. The
arithmetic is the same step for step (outputs agree to float32 rounding, not bit for bit:
TensorFlow may order the kernels otherwise); what goes is the loop's own cost per step and in
its gradient, which weighs on small recurrent layers on a CPU (docs/benchmarks.md). An
unrolled layer needs a known number of steps, so an unrolled model's input has a fixed length
(the training layout's) and other layouts get a twin; longer sequences keep the loop, whose graph
does not grow with the length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAME = "seq2seq"
FRAMING = "seq2seq"
ANY_LENGTH = True


@dataclass
class Config:
    """Encoder-decoder: LSTM encoder layers, RepeatVector, LSTM decoder layers, softmax per step."""

    name: str = NAME
    encoder_units: list[int] = field(default_factory=lambda: [100])
    decoder_units: list[int] = field(default_factory=lambda: [50])
    embedding_dim: int = 16  # size of the learned embedding (encoding=embedding)
    unroll_max_steps: int = 32  # unroll the encoder, the decoder, if that short; 0: never


def unrolled(steps: int | None, max_steps: int) -> bool:
    """Whether a recurrent layer over `steps` time steps is unrolled (None: a free length,
    never unrolled)."""
    return steps is not None and 0 < steps <= max_steps


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model: (batch, steps, features) or (batch, steps) indices -> (batch,
    shapes.output_steps, shapes.output_symbols) softmax. `steps` is free unless the encoder is
    unrolled (then it is `shapes.input_shape[0]`, the layout's question width)."""
    import keras
    from keras import layers

    from addexp.models.inputs import sequence_input

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
    """The same model (shared weights) reading `question_steps` and writing `answer_steps`:
    `model` itself when it already does, otherwise its config with the RepeatVector count, the
    input length (fixed where the encoder is unrolled, free where it is not) and each LSTM's
    `unroll` (`unrolled(steps, max_steps)`) set for these widths, rebuilt by Keras, weights
    copied."""
    import keras

    steps_in = model.input_shape[1]
    if model.output_shape[1] == answer_steps and steps_in in (None, question_steps):
        return model
    encoder_unrolled = unrolled(question_steps, max_steps)
    config = model.get_config()
    for layer in config["layers"]:
        kind, layer_cfg = layer["class_name"], layer["config"]
        if kind == "RepeatVector":
            layer_cfg["n"] = answer_steps
        elif kind == "InputLayer":
            shape = list(layer_cfg["batch_shape"])
            shape[1] = question_steps if encoder_unrolled else None
            layer_cfg["batch_shape"] = shape
        elif kind == "LSTM":
            decoder = layer_cfg["name"].startswith("decoder_")
            steps = answer_steps if decoder else question_steps
            layer_cfg["unroll"] = unrolled(steps, max_steps)
    twin = keras.Model.from_config(config)
    twin.set_weights(model.get_weights())
    return twin


def decode(model: Any, framing: Any, problems: Any, batch_size: int, cfg: Any) -> Any:
    """Answers to `problems` in `framing`'s layout, whatever its widths."""
    fmt = framing.text_format
    twin = for_layout(model, fmt.question_width, fmt.answer_width, cfg.unroll_max_steps)
    outputs = twin.predict(framing.inputs(problems), batch_size=batch_size, verbose=0)
    return framing.answers(outputs)
