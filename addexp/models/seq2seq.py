"""The tutorial's encoder-decoder: LSTM encoder, RepeatVector, LSTM decoder, softmax per step."""

from __future__ import annotations

import keras
from keras import layers

from addexp.models.inputs import sequence_input

NAME = "seq2seq"
FRAMING = "seq2seq"


def build(cfg, shapes) -> keras.Model:
    inputs, x = sequence_input(shapes, "question")
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
