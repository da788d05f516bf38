"""Arithmetic: training FLOPs per example counted from layer sizes, and the machine's matmul rate.

Forward FLOPs per example (a multiply-add counts 2), summed over layers, each times the steps it
runs for:

- LSTM: 2 * 4 * units * (inputs + units) per step (four gates, each a product with the step's
  input and the previous output); GRU: 2 * 3 * units * (inputs + units); SimpleRNN:
  2 * units * (inputs + units); Bidirectional: twice its layer.
- Dense: 2 * inputs * units per position it is applied at (TimeDistributed: per step).
- Layers without weights (RepeatVector, Masking, activations) and Embedding (a row lookup): 0.

Biases, gate non-linearities and the softmax are element-wise and left out (under 2% for the
models here). Training costs 3x the forward pass: the backward pass computes a gradient for the
inputs and one for the weights, each as large as the forward product (Kaplan et al. 2020, "Scaling
laws", section 2.1). For the tutorial model (LSTM(100) over 5 steps of 12 symbols, RepeatVector(2),
LSTM(50), Dense(12) per step) that is 3 * 570,400 = 1.71 MFLOP per training example.

The ceiling is TensorFlow's float32 matmul rate on this machine (`matmul_gflops`), the best case
for every one of those products.
"""

from __future__ import annotations

import math
import time
from typing import Any

TRAINING_FACTOR = 3  # forward + backward (gradients for inputs and for weights)
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def _layer_flops(layer: Any, in_shape: tuple[int | None, ...]) -> float:
    """Forward FLOPs of one layer for one example whose input has shape `in_shape` (batch
    axis included, as Keras reports it). Raises ValueError for a layer with weights that is
    not in the table above."""
    kind = type(layer).__name__
    if kind == "TimeDistributed":
        return in_shape[1] * _layer_flops(layer.layer, (in_shape[0], *in_shape[2:]))
    if kind == "Bidirectional":
        return 2 * _layer_flops(layer.forward_layer, in_shape)
    if kind in GATES:
        steps, inputs, units = in_shape[1], in_shape[-1], layer.units
        return steps * 2 * GATES[kind] * units * (inputs + units)
    if kind == "Dense":
        positions = math.prod(in_shape[1:-1])
        return positions * 2 * in_shape[-1] * layer.units
    if kind == "Embedding" or not layer.weights:
        return 0.0
    raise ValueError(
        f"no FLOP count for layer {layer.name!r} ({kind}); see addexp.benchmarks.flops"
    )


def training_flops(model: Any, input_shape: tuple[int, ...]) -> float:
    """FLOPs per training example (3x forward) of a single-input Keras functional model fed
    examples of `input_shape` (no batch axis, e.g. (5, 12)). The model is rebuilt from its
    config with that input shape, so layers whose steps are free (None) get concrete steps."""
    import keras

    config = model.get_config()
    inputs = [layer for layer in config["layers"] if layer["class_name"] == "InputLayer"]
    if len(inputs) != 1:
        raise ValueError(f"model {model.name!r} has {len(inputs)} inputs; one is counted")
    inputs[0]["config"]["batch_shape"] = [None, *input_shape]
    concrete = keras.Model.from_config(config)
    forward = sum(
        _layer_flops(layer, tuple(layer.input.shape))
        for layer in concrete.layers
        if type(layer).__name__ != "InputLayer"
    )
    return TRAINING_FACTOR * forward


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of float32 (size x size) @ (size x size) products with TensorFlow on every core
    (its default thread pools): 2 * size**3 FLOP each, `repeats` of them timed after one
    warm-up product."""
    import tensorflow as tf

    a = tf.random.normal((size, size), dtype=tf.float32)
    b = tf.random.normal((size, size), dtype=tf.float32)
    tf.linalg.matmul(a, b).numpy()  # warm-up: thread pools and kernels
    start = time.perf_counter()
    for _ in range(repeats):
        c = tf.linalg.matmul(a, b)
    float(tf.reduce_sum(c))  # eager ops on CPU run in order: the last product is done
    seconds = time.perf_counter() - start
    return 2 * size**3 * repeats / seconds / 1e9
