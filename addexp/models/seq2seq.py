"""The tutorial's encoder-decoder: LSTM encoder, RepeatVector, LSTM decoder, softmax per step.

The encoder reads questions of any length (its input has no fixed number of steps), and the
decoder writes as many steps as RepeatVector repeats; the weights depend on neither. So the
family reads any length: to answer longer questions, `decode` runs a twin of the trained model
whose RepeatVector writes the wider answer, with the same weights.
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


def build(cfg: Any, shapes: Any) -> Any:
    """keras.Model: (batch, steps, features) or (batch, steps) indices -> (batch,
    shapes.output_steps, shapes.output_symbols) softmax; `steps` is free."""
    import keras
    from keras import layers

    from addexp.models.inputs import sequence_input

    inputs, x = sequence_input(shapes, "question", cfg.embedding_dim, any_length=True)
    encoder = list(cfg.encoder_units)
    for i, units in enumerate(encoder):  # all but the last encoder layer pass on sequences
        x = layers.LSTM(units, return_sequences=i < len(encoder) - 1, name=f"encoder_{i}")(x)
    x = layers.RepeatVector(shapes.output_steps, name="repeat")(x)
    for i, units in enumerate(cfg.decoder_units):
        x = layers.LSTM(units, return_sequences=True, name=f"decoder_{i}")(x)
    outputs = layers.TimeDistributed(
        layers.Dense(shapes.output_symbols, activation="softmax"), name="answer"
    )(x)
    return keras.Model(inputs, outputs, name=NAME)


def with_answer_steps(model: Any, steps: int) -> Any:
    """The same model (shared weights) writing `steps` answer steps: its config with the
    RepeatVector count changed, rebuilt by Keras, weights copied."""
    import keras

    if model.output_shape[1] == steps:
        return model
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "RepeatVector":
            layer["config"]["n"] = steps
    twin = keras.Model.from_config(config)
    twin.set_weights(model.get_weights())
    return twin


def decode(model: Any, framing: Any, problems: Any, batch_size: int, cfg: Any) -> Any:
    """Answers to `problems` in `framing`'s layout, whatever its answer width."""
    twin = with_answer_steps(model, framing.text_format.answer_width)
    outputs = twin.predict(framing.inputs(problems), batch_size=batch_size, verbose=0)
    return framing.answers(outputs)
