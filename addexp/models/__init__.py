"""Model registry: each family is one module with a `build` function and the framing it serves.

Adding a family: write `addexp/models/NAME.py` with `FRAMING` and `build(cfg, shapes)`, list it
here, and add `conf/model/NAME.yaml` (plus its schema in `addexp.config`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras

from addexp.models import mapping_lstm, mlp, seq2seq


@dataclass(frozen=True)
class Shapes:
    """What a model needs to know about the data: inputs, outputs, embedding and masking."""

    input_shape: tuple[int, ...]
    output_steps: int = 1
    output_symbols: int = 1
    vocab: int = 0  # > 0: inputs are symbol indices for an Embedding layer of this many rows
    embedding_dim: int = 0
    mask_value: float | None = None  # not None: hide steps equal to it (index 0 for embeddings)


@dataclass(frozen=True)
class ModelFamily:
    framing: str  # "seq2seq" (characters in, characters out) or "mapping" (numbers in and out)
    build: Callable[..., keras.Model]


MODELS: dict[str, ModelFamily] = {
    module.NAME: ModelFamily(module.FRAMING, module.build)
    for module in (seq2seq, mapping_lstm, mlp)
}


def build_model(model_cfg, shapes: Shapes) -> keras.Model:
    """Build the configured family's (uncompiled) Keras model."""
    return MODELS[model_cfg.name].build(model_cfg, shapes)
