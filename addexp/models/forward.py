"""One forward pass of a model over rows of inputs: as quick for one question as for a set."""

from __future__ import annotations

from typing import Any


def rows(inputs: Any) -> int:
    """The rows of a model's inputs: an array, or a dict or list of arrays (first axis)."""
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    return len(first[0] if isinstance(first, list | tuple) else first)


def forward(model: Any, inputs: Any, batch_size: int) -> Any:
    """The model's outputs (NumPy) for `inputs`, `batch_size` rows per pass. Up to `batch_size`
    rows go through Keras's `predict_on_batch` (the compiled predict step, traced once per input
    shape), not `predict`, whose input pipeline (a tf.data dataset built on every call) costs
    several times the pass itself for a few questions; the arithmetic is the same."""
    if rows(inputs) <= batch_size:
        return model.predict_on_batch(inputs)
    return model.predict(inputs, batch_size=batch_size, verbose=0)
