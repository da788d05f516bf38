"""The training data of one `fit` over all epochs, as a tf.data pipeline fed a chunk at a time.

`fresh`: streamed. An epoch's `train.examples` problems are drawn in chunks of `CHUNK` (NumPy,
vectorised: sampling, rendering and encoding a chunk at once), each chunk from a stream of its
own, `TrainingStreams.chunk(epoch, index)`: a chunk is a pure function of the seed, the epoch
and its index. So memory is bounded by a few chunks whatever `train.examples` is, prefetching
threads share no random state (any thread may draw any chunk, in any order, and gets the same
rows), and a resumed run needs only the number of epochs done. Draws are independent, so the
draw order is already random: batches are consecutive rows, not reshuffled.
`fixed`: one set of distinct problems in memory, each epoch fed in the order drawn from that
epoch's own stream (`TrainingStreams.order(epoch)`).
With a curriculum (`addexp.training.curriculum`) a chunk is also a function of the operand
length the schedule gives its epoch (a `Stage`), and the fixed set's order of the rows that
stage allows; the schedule of the epochs so far is known before an epoch's first chunk is drawn.

Why not a `keras.utils.PyDataset` (keras/src/trainers/data_adapters/py_dataset_adapter.py in
Keras 3.15): with `workers=1` Keras wraps its `__getitem__` in `tf.data.Dataset.from_generator(
...).prefetch(AUTOTUNE)`, so every batch is one Python call in tf.data's thread, competing for
the GIL with the training loop (`workers > 1` adds an ordered thread pool, `max_queue_size`
batches ahead; `shuffle=True` shuffles batch indices with Python's global `random`, which a
resumed process cannot reproduce). At the tutorial's batch of 10 that per-batch Python made
training about half again slower than `fit` on arrays. Here Python runs once per chunk: an
epoch's chunk indices are mapped to its rows by `tf.numpy_function` (`EpochBatches.dataset`
says why not a generator), `Dataset.rebatch` cuts them into batches in C++
(batches straddle chunks: the rows are one sequence) and `prefetch` draws the next chunk in
the background while the model trains. Keras opens one iterator per epoch and does not say
which epoch it is for, so the epoch is set by a callback (`EpochCursor`): Keras calls
callbacks' `on_epoch_begin(epoch)` before it opens the epoch's iterator, and every chunk of
that iterator reads it (an epoch's iterator is read to its end before the next one opens).

The overlap report (`<set>/train_overlap`) needs to know which questions were trained on, but
keeping every training question (1M examples x 30 epochs) would cost gigabytes. `Seen` keeps a
flag per *watched* question instead: the test set's and every evaluation set's, drawn before
training from their own streams. Each chunk marks the watched questions it holds; an epoch's
marks count once the epoch completed. `replay_seen` redraws the questions of a run's epochs
chunk by chunk, without training, for resumed runs and `addexp-eval`.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from addexp.problems import space as P
from addexp.problems.sampling import sample
from addexp.training.curriculum import Progression, Stage, fixed_order, sample_at_lengths
from addexp.training.pipeline import TrainingStreams

CHUNK = 8192  # problems drawn, rendered and encoded at once (fresh regime)
CACHED_CHUNKS = 2  # encoded chunks kept (the signature's and the one being fed)


class Seen:
    """Which of the `watched` question keys training has shown, counted per completed epoch.
    Thread-safe: chunks are marked by data threads, epochs completed by the main thread."""

    def __init__(self, watched: np.ndarray):
        self.watched = np.unique(watched)
        self._shown = np.zeros(len(self.watched), dtype=bool)
        self._pending: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def mark(self, epoch: int, keys: np.ndarray) -> None:
        """Watched questions among `keys` (question keys of a chunk of epoch `epoch`)."""
        hit = np.isin(self.watched, keys)
        with self._lock:
            if epoch in self._pending:
                self._pending[epoch] |= hit
            else:
                self._pending[epoch] = hit

    def complete(self, epoch: int) -> None:
        """Epoch `epoch` was trained to its end: its marks count."""
        with self._lock:
            hit = self._pending.pop(epoch, None)
            if hit is not None:
                self._shown |= hit

    @property
    def keys(self) -> np.ndarray:
        """The watched keys trained on (a subset of the training questions that is exact for
        the overlap of any set whose keys were watched)."""
        return self.watched[self._shown]


def fingerprint(problems: P.Problems) -> str:
    """SHA-256 (16 hex digits) of the questions and answers of `problems`, in order: what a
    checkpoint records of its data, so a resumed run can tell the same data from another."""
    text = (
        "\n".join(P.question_keys(problems).astype(str))
        + "|"
        + ",".join(map(str, problems.targets.tolist()))
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def chunks_per_epoch(examples: int) -> int:
    return math.ceil(examples / CHUNK)


def draw_chunk(
    space: P.ProblemSpace,
    examples: int,
    streams: TrainingStreams,
    exclude: np.ndarray | None,
    epoch: int,
    index: int,
    stage: Stage | None = None,
) -> P.Problems:
    """Chunk `index` of epoch `epoch` of the fresh regime: rows `index * CHUNK` onwards of that
    epoch's `examples` problems (at most CHUNK), none of them in `exclude`; with a curriculum's
    `stage`, each problem at an operand length the stage draws first from the same stream."""
    size = min(CHUNK, examples - index * CHUNK)
    rng = streams.chunk(epoch, index)
    if stage is None:
        return sample(space, size, rng, exclude)
    return sample_at_lengths(space, stage.example_lengths(size, rng), rng, exclude)


def stage_of(progression: Progression | None, epoch: int) -> Stage | None:
    """Epoch `epoch`'s curriculum stage; None without a curriculum."""
    return None if progression is None else progression.stage(epoch)


def replay_seen(
    space: P.ProblemSpace,
    train_cfg: Any,
    streams: TrainingStreams,
    exclude: np.ndarray | None,
    seen: Seen,
    epochs: int,
    progression: Progression | None = None,
) -> None:
    """Mark in `seen` the questions of the first `epochs` epochs of the fresh regime, redrawn
    chunk by chunk from the run's streams (NumPy only; memory of one chunk at a time), at the
    stages of the curriculum's `progression` (which knows those epochs; None: no curriculum)."""
    for epoch in range(epochs):
        stage = stage_of(progression, epoch)
        for index in range(chunks_per_epoch(train_cfg.examples)):
            chunk = draw_chunk(space, train_cfg.examples, streams, exclude, epoch, index, stage)
            seen.mark(epoch, P.question_keys(chunk))
        seen.complete(epoch)


def _rows(arrays: Any, index: Any) -> Any:
    """Rows `index` of an array, of every array of a dict, or None."""
    if arrays is None:
        return None
    if isinstance(arrays, dict):
        return {k: v[index] for k, v in arrays.items()}
    return arrays[index]


def _concat(parts: list[Any]) -> Any:
    """Row-wise concatenation of arrays (or dicts of arrays, or Nones) of the same structure."""
    if len(parts) == 1 or parts[0] is None:
        return parts[0]
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


class EpochBatches:
    """Batches of `batch_size` consecutive rows of epoch `epoch` (the last one may be
    smaller): `(inputs, targets)` or `(inputs, targets, sample_weights)`, inputs an array or a
    dict of arrays. `epoch` is set by `EpochCursor` as `fit` begins each epoch."""

    def __init__(self, examples: int, batch_size: int, first_epoch: int):
        self.examples, self.batch_size, self.epoch = examples, batch_size, first_epoch

    def __len__(self) -> int:
        """Batches per epoch."""
        return math.ceil(self.examples / self.batch_size)

    def rows(self, epoch: int, start: int, stop: int) -> tuple[Any, np.ndarray, Any]:
        """Inputs, targets and sample weights (or None) of rows `start:stop` of `epoch`."""
        raise NotImplementedError

    def chunk_rows(self, index: int) -> tuple:
        """Chunk `index` (`CHUNK` rows) of the current epoch, as `fit` takes it: `(inputs,
        targets)` or `(inputs, targets, sample_weights)`."""
        start = index * CHUNK
        x, y, w = self.rows(self.epoch, start, min(start + CHUNK, self.examples))
        return (x, y) if w is None else (x, y, w)

    def dataset(self) -> tf.data.Dataset:
        """The batches of each epoch `fit` runs (a new iterator per epoch, opened after
        `EpochCursor` set its epoch), the next chunk drawn in the background while the model
        trains on the current one.

        The chunk indices are a `Dataset.range` mapped through `tf.numpy_function`, not a
        `Dataset.from_generator`: with a generator in the pipeline the Keras example's model
        trained at half the speed or less (about 10 s an epoch at batch 512 instead of 4-5 s,
        TensorFlow 2.21 on 2 cores), even when the generator yielded once an epoch."""
        first = self.chunk_rows(0)  # the signature (a cached chunk: drawn once)
        flat = tf.nest.flatten(first)

        def draw(index: np.ndarray) -> list[np.ndarray]:
            return tf.nest.flatten(self.chunk_rows(int(index)))

        def structured(*tensors: tf.Tensor) -> tuple:
            for tensor, array in zip(tensors, flat, strict=True):
                tensor.set_shape((None, *array.shape[1:]))
            return tf.nest.pack_sequence_as(first, list(tensors))

        dtypes = [tf.as_dtype(a.dtype) for a in flat]
        data = tf.data.Dataset.range(chunks_per_epoch(self.examples)).map(
            lambda i: structured(*tf.numpy_function(draw, [i], dtypes, stateful=True))
        )
        data = data.rebatch(self.batch_size).apply(
            tf.data.experimental.assert_cardinality(len(self))
        )
        return data.prefetch(tf.data.AUTOTUNE)


@dataclass(frozen=True)
class FixedCurriculum:
    """A curriculum over the fixed set: its `progression`, the operand length of every row
    (`curriculum.problem_lengths`), the rows' question keys and the `seen` they mark epoch by
    epoch (an epoch may feed some rows only)."""

    progression: Progression
    lengths: np.ndarray
    keys: np.ndarray
    seen: Seen

    def order(self, streams: TrainingStreams, epoch: int) -> np.ndarray:
        """The rows epoch `epoch` feeds, in order (`curriculum.fixed_order` at its stage)."""
        stage = self.progression.stage(epoch)
        return fixed_order(stage, self.lengths, streams.order(epoch))

    def replay(self, streams: TrainingStreams, epochs: int) -> None:
        """Mark the rows of the first `epochs` epochs as seen, epoch by epoch."""
        for epoch in range(epochs):
            self.seen.mark(epoch, self.keys[self.order(streams, epoch)])
            self.seen.complete(epoch)


class FixedSet(EpochBatches):
    """The fixed regime: `arrays` (inputs, targets, sample weights or None) in memory, each
    epoch in the order of `streams.order(epoch)`; with a `curriculum`, the rows its stage
    allows (`FixedCurriculum.order`), marked as seen when the epoch's order is made."""

    def __init__(
        self,
        arrays: tuple,
        batch_size: int,
        streams: TrainingStreams,
        first_epoch: int,
        curriculum: FixedCurriculum | None = None,
    ):
        super().__init__(len(arrays[1]), batch_size, first_epoch)
        self.arrays, self.streams, self.curriculum = arrays, streams, curriculum
        self._order: tuple[int, np.ndarray] | None = None
        self._lock = threading.Lock()

    def order(self, epoch: int) -> np.ndarray:
        """The rows epoch `epoch` feeds, in order (computed once per epoch): a permutation of
        the set, or with a curriculum the rows its stage allows."""
        with self._lock:
            if self._order is None or self._order[0] != epoch:
                c = self.curriculum
                if c is None:
                    rows = self.streams.order(epoch).permutation(self.examples)
                else:
                    rows = c.order(self.streams, epoch)
                    c.seen.mark(epoch, c.keys[rows])
                self._order = (epoch, rows)
            return self._order[1]

    def rows(self, epoch: int, start: int, stop: int) -> tuple:
        index = self.order(epoch)[start:stop]
        return tuple(_rows(a, index) for a in self.arrays)


class FreshStream(EpochBatches):
    """The fresh regime, streamed: every epoch `train_cfg.examples` new problems, drawn,
    rendered and encoded a chunk at a time (`draw_chunk`, at the epoch's stage of a
    curriculum's `progression`); the last `CACHED_CHUNKS` encoded chunks are kept. Each chunk
    drawn marks its watched questions in `seen`.

    Chunks are drawn under a lock, so that rows may be asked for from any thread."""

    def __init__(
        self,
        space: P.ProblemSpace,
        framing: Any,
        train_cfg: Any,
        streams: TrainingStreams,
        exclude: np.ndarray | None,
        seen: Seen,
        first_epoch: int,
        progression: Progression | None = None,
    ):
        super().__init__(train_cfg.examples, train_cfg.batch_size, first_epoch)
        self.space, self.framing, self.streams = space, framing, streams
        self.exclude, self.seen, self.progression = exclude, seen, progression
        self._chunks: OrderedDict[tuple[int, int], tuple] = OrderedDict()
        self._lock = threading.Lock()

    def problems(self, epoch: int, index: int) -> P.Problems:
        """Chunk `index` of epoch `epoch` as problems (not cached; for logging and checks), at
        the epoch's stage of the curriculum's `progression` (None: no curriculum)."""
        stage = stage_of(self.progression, epoch)
        streams, exclude = self.streams, self.exclude
        return draw_chunk(self.space, self.examples, streams, exclude, epoch, index, stage)

    def chunk(self, epoch: int, index: int) -> tuple:
        """Inputs, targets and sample weights of chunk `index` of epoch `epoch`."""
        key = (epoch, index)
        with self._lock:
            if key in self._chunks:
                self._chunks.move_to_end(key)
                return self._chunks[key]
            problems = self.problems(epoch, index)
            self.seen.mark(epoch, P.question_keys(problems))
            f = self.framing
            arrays = (f.inputs(problems), f.targets(problems), f.sample_weights(problems))
            self._chunks[key] = arrays
            while len(self._chunks) > CACHED_CHUNKS:
                self._chunks.popitem(last=False)
            return arrays

    def rows(self, epoch: int, start: int, stop: int) -> tuple:
        parts = []
        for index in range(start // CHUNK, (stop - 1) // CHUNK + 1):
            offset = index * CHUNK
            part = slice(max(start - offset, 0), min(stop - offset, CHUNK))
            parts.append(tuple(_rows(a, part) for a in self.chunk(epoch, index)))
        return tuple(_concat(list(column)) for column in zip(*parts, strict=True))


class EpochCursor(keras.callbacks.Callback):
    """Tells `data` which epoch `fit` is in. Keras calls callbacks' `on_epoch_begin(epoch)`
    before it opens the epoch's data iterator, so every batch of the epoch is drawn for it."""

    def __init__(self, data: EpochBatches):
        super().__init__()
        self.data = data

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.data.epoch = epoch
