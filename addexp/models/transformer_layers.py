"""The Keras layers of the `transformer` family that Keras itself lacks: position encodings over
sequences of any length, the digit-run positions of Abacus embeddings, attention masks from
padding, and the answer's steps taken from the end of a sequence.

Attention and its blocks are Keras's own (`MultiHeadAttention`, `LayerNormalization`, `Dense`,
`Dropout`, `Embedding`). keras-hub has a `PositionEmbedding` and a `SinePositionEncoding`, but
it would bring in tensorflow-text (which requires the full `tensorflow` wheel) for two small
layers; nothing in Keras or keras-hub computes Abacus positions.

Every layer is registered with Keras (package `addexp`), so a saved model loads once this module
is imported (`ModelFamily.layers`).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers, ops

PACKAGE = "addexp"


def digit_flags(x: Any, digits: tuple[int, ...]) -> Any:
    """(batch, steps) float32 1.0 where a step is a digit: `x` symbol indices (batch, steps) int,
    or features (batch, steps, features) whose first columns are the symbols' one-hot vectors
    (`digits`: the digits' indices in the alphabet)."""
    if len(x.shape) == 2:
        wanted = ops.convert_to_tensor(np.asarray(digits, np.int32))
        hits = ops.equal(ops.expand_dims(ops.cast(x, "int32"), -1), wanted)
        return ops.cast(ops.any(hits, axis=-1), "float32")
    columns = ops.take(x, np.asarray(digits, np.int32), axis=-1)
    return ops.cast(ops.sum(columns, axis=-1) > 0.5, "float32")


def not_padding(x: Any) -> Any:
    """(batch, steps) bool, True at a step that is not padding: an index other than 0, or a
    feature vector other than all zeros (how masking encodes a pad step)."""
    if len(x.shape) == 2:
        return ops.not_equal(x, 0)
    return ops.any(ops.not_equal(x, 0.0), axis=-1)


def index_in_run(flags: Any) -> Any:
    """(batch, steps) int32: 1, 2, ... along every run of consecutive digits (`flags` 1.0), 0 at
    every other step: each digit's index within its number, in the order read. The count since
    the last non-digit is a running maximum, an associative scan (`keras.ops`)."""
    on = ops.cast(flags, "int32")
    count = ops.cumsum(on, axis=1)
    before_run = ops.associative_scan(ops.maximum, ops.where(on > 0, 0, count), axis=1)
    # the scan's graph loses the static rank: (batch, steps) again
    return ops.reshape(count - before_run, (-1, ops.shape(on)[1]))


@keras.saving.register_keras_serializable(package=PACKAGE)
class PositionEncoding(layers.Layer):
    """Absolute positions 0 .. steps - 1 added to (batch, steps, dim) inputs: `learned` rows of
    an embedding table (`max_positions` rows; Vaswani et al. 2017, and GPT's), or `sinusoidal`
    (Vaswani et al. 2017, section 3.5: sin/cos of position / 10000^(2i/dim), for any length).
    `offset` inputs (batch,) int32, if given, shift each row's positions (a decoder's prefix
    that continues a question, say)."""

    def __init__(self, kind: str, max_positions: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.kind = kind
        self.max_positions = max_positions

    def build(self, input_shape: Any) -> None:
        dim = input_shape[-1]
        if self.kind == "learned":
            self.table = self.add_weight(
                shape=(self.max_positions, dim), initializer="glorot_uniform", name="table"
            )
        self.built = True

    def call(self, x: Any) -> Any:
        steps, dim = ops.shape(x)[1], x.shape[-1]
        positions = ops.arange(steps)
        if self.kind == "learned":
            return x + ops.expand_dims(ops.take(self.table, positions, axis=0), 0)
        return x + ops.expand_dims(sinusoids(positions, dim), 0)

    def get_config(self) -> dict:
        return {**super().get_config(), "kind": self.kind, "max_positions": self.max_positions}


def sinusoids(positions: Any, dim: int) -> Any:
    """(steps, dim) float32: sin on even columns, cos on odd ones, of position / 10000^(2i/dim)
    (Vaswani et al. 2017)."""
    half = np.arange(0, dim, 2, dtype=np.float32)
    rates = ops.convert_to_tensor(1.0 / np.power(10000.0, half / dim))
    angles = ops.expand_dims(ops.cast(positions, "float32"), 1) * ops.expand_dims(rates, 0)
    interleaved = ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1)
    return ops.reshape(interleaved, (-1, 2 * len(half)))[:, :dim]


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomOffset(layers.Layer):
    """(batch,) int32: in training a random offset per row, uniform in 0 .. `max_offset`
    (Keras's seeded generator: reproducible from the run's seed); at inference 0. Called on any
    (batch, ...) tensor, for its rows."""

    def __init__(self, max_offset: int, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_offset = max_offset
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x: Any, training: bool = False) -> Any:
        rows = ops.shape(x)[0]
        if not training or self.max_offset == 0:
            return ops.zeros((rows,), dtype="int32")
        return keras.random.randint(
            (rows,), 0, self.max_offset + 1, dtype="int32", seed=self.seed_generator
        )

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0],)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_offset": self.max_offset, "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class AbacusEncoding(layers.Layer):
    """Abacus embeddings (McLeish et al. 2024, "Transformers Can Do Arithmetic with the Right
    Embeddings"): every digit gets the embedding of its index within its own number (1 for the
    digit read first), added to its features; other steps get none. In training each row's
    indices are shifted by a random offset (`RandomOffset`, one per row, given to every
    sequence of the row so that digits of equal index still share an embedding), so that the
    rows of the table beyond the trained lengths are trained too; at inference the offset is 0.
    Read least significant place first (`format.reverse_input`, `format.reverse_output`),
    digits of equal significance share an index, as in the paper.

    Called on [features (batch, steps, dim), symbols (batch, steps[, features]) as
    `digit_flags` reads them, offsets (batch,) int32]. `max_positions` rows; an index beyond
    them takes the last row (`addexp.models.transformer.reach` refuses such a layout)."""

    def __init__(self, max_positions: int, digits: tuple[int, ...], **kwargs: Any):
        super().__init__(**kwargs)
        self.max_positions = max_positions
        self.digits = tuple(int(d) for d in digits)

    def build(self, input_shape: Any) -> None:
        self.table = self.add_weight(
            shape=(self.max_positions, input_shape[0][-1]),
            initializer="glorot_uniform",
            name="table",
        )
        self.built = True

    def call(self, inputs: list[Any]) -> Any:
        features, symbols, offsets = inputs
        index = index_in_run(digit_flags(symbols, self.digits))
        index = ops.where(index > 0, index + ops.expand_dims(offsets, 1), 0)
        index = ops.minimum(index, self.max_positions - 1)
        rows = ops.take(self.table, index, axis=0)
        return features + rows * ops.expand_dims(ops.cast(index > 0, rows.dtype), -1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return input_shape[0]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_positions": self.max_positions,
            "digits": list(self.digits),
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class ValidSteps(layers.Layer):
    """(batch, steps) bool over sequences read one after the other, True at every step that is
    not padding (`not_padding`) when `padded` (the run masks its padding), else everywhere.

    Called on a list of symbol sequences (batch, steps_i[, features])."""

    def __init__(self, padded: bool, **kwargs: Any):
        super().__init__(**kwargs)
        self.padded = padded

    def call(self, parts: list[Any]) -> Any:
        valid = [
            not_padding(p) if self.padded else ops.ones(ops.shape(p)[:2], dtype="bool")
            for p in parts
        ]
        return valid[0] if len(valid) == 1 else ops.concatenate(valid, axis=1)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        steps = [s[1] for s in input_shape]
        total = None if None in steps else sum(steps)
        return (input_shape[0][0], total)

    def get_config(self) -> dict:
        return {**super().get_config(), "padded": self.padded}


@keras.saving.register_keras_serializable(package=PACKAGE)
class AttentionMask(layers.Layer):
    """(batch, queries, keys) bool, which keys each query may attend to: valid keys (a
    `ValidSteps` output), and with `causal` only keys at or before the query's own step,
    counting the queries as the last steps of the keys. A query always sees its own step when
    the queries are among the keys (a pad query attends to itself alone, instead of to nothing,
    which softmax cannot normalise).

    Called on [valid keys (batch, keys) bool, queries (batch, queries, ...)]."""

    def __init__(self, causal: bool, **kwargs: Any):
        super().__init__(**kwargs)
        self.causal = causal

    def call(self, inputs: list[Any]) -> Any:
        valid, queries = inputs
        n_keys, n_queries = ops.shape(valid)[1], ops.shape(queries)[1]
        allowed = ops.expand_dims(valid, 1)
        if self.causal:
            query_step = ops.arange(n_queries) + (n_keys - n_queries)
            before = ops.expand_dims(query_step, 1) >= ops.expand_dims(ops.arange(n_keys), 0)
            own = ops.expand_dims(query_step, 1) == ops.expand_dims(ops.arange(n_keys), 0)
            allowed = ops.logical_or(
                ops.logical_and(allowed, ops.expand_dims(before, 0)), ops.expand_dims(own, 0)
            )
        return ops.broadcast_to(allowed, (ops.shape(valid)[0], n_queries, n_keys))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0][0], input_shape[1][1], input_shape[0][1])

    def get_config(self) -> dict:
        return {**super().get_config(), "causal": self.causal}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LastSteps(layers.Layer):
    """The last steps of a sequence, as many as another has: [sequence (batch, steps, dim),
    like (batch, k, ...)] -> (batch, k, dim). A decoder-only model reads question and answer as
    one sequence and writes its answer from the answer's steps."""

    def call(self, inputs: list[Any]) -> Any:
        sequence, like = inputs
        return sequence[:, ops.shape(sequence)[1] - ops.shape(like)[1] :, :]

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0][0], input_shape[1][1], input_shape[0][2])
