"""The input stage shared by recurrent models: Embedding or Masking as the shapes ask."""

from __future__ import annotations

import keras
from keras import layers


def sequence_input(shapes, name: str):
    """(input tensor, first hidden tensor): indices -> Embedding (mask_zero when masking);
    vectors -> Masking(mask_value) when masking; otherwise the input itself."""
    masking = shapes.mask_value is not None
    if shapes.vocab:
        inputs = keras.Input(shape=shapes.input_shape, dtype="int32", name=name)
        x = layers.Embedding(
            shapes.vocab, shapes.embedding_dim, mask_zero=masking, name="embedding"
        )(inputs)
        return inputs, x
    inputs = keras.Input(shape=shapes.input_shape, name=name)
    if masking:
        return inputs, layers.Masking(mask_value=shapes.mask_value, name="masking")(inputs)
    return inputs, inputs
