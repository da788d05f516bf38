"""The input stage shared by recurrent models: Embedding or Masking as the shapes ask."""

from __future__ import annotations

from typing import Any

import keras
from keras import layers


def sequence_input(shapes: Any, name: str, embedding_dim: int = 0, any_length: bool = False):
    """(input tensor, first hidden tensor): indices -> Embedding(embedding_dim) (mask_zero when
    masking); vectors -> Masking(mask_value) when masking; otherwise the input itself. With
    `any_length` the number of steps is left free (None)."""
    masking = shapes.mask_value is not None
    shape = (None, *shapes.input_shape[1:]) if any_length else shapes.input_shape
    if shapes.vocab:
        inputs = keras.Input(shape=shape, dtype="int32", name=name)
        x = layers.Embedding(shapes.vocab, embedding_dim, mask_zero=masking, name="embedding")(
            inputs
        )
        return inputs, x
    inputs = keras.Input(shape=shape, name=name)
    if masking:
        return inputs, layers.Masking(mask_value=shapes.mask_value, name="masking")(inputs)
    return inputs, inputs
