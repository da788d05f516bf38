"""The training data of one `fit` over all epochs: the streamed fresh regime (chunks drawn as pure
functions of seed, epoch and index), the fixed set's per-epoch order, and the overlap report's
marking of watched questions, checked against brute force."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from addexp.problems.space import Problems, question_keys
from addexp.training import batches
from addexp.training.batches import FixedSet, FreshStream, Seen, draw_chunk, replay_seen
from addexp.training.fit import Training, replay_seen_keys
from addexp.training.pipeline import build_pipeline, draw_test_set, training_streams
from tests.conftest import compose

CHUNK = 16  # small chunks, so that tiny epochs span several and batches straddle them


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(batches, "CHUNK", CHUNK)


def _setup(overrides: list[str]):
    cfg = compose(overrides)
    pipeline = build_pipeline(cfg)
    test, exclude = draw_test_set(cfg, pipeline.space)
    return cfg, pipeline, test, exclude


def _stream(cfg, pipeline, exclude, seen=None) -> FreshStream:
    watched = seen if seen is not None else Seen(np.array([""]))
    streams = training_streams(cfg)
    return FreshStream(pipeline.space, pipeline.framing, cfg.train, streams, exclude, watched, 0)


def _fed(data, epoch: int) -> list[tuple]:
    """Every batch of `epoch` as `fit` gets it (the real tf.data pipeline)."""
    data.epoch = epoch
    return [tuple(np.asarray(a) for a in batch) for batch in data.dataset().as_numpy_iterator()]


def _asked(data, epoch: int, spans: list[tuple[int, int]], threads: int) -> list[tuple]:
    """Rows of `epoch` asked for span by span in the order given, from `threads` threads;
    returned in row order."""
    with ThreadPoolExecutor(threads) as pool:
        got = list(pool.map(lambda span: data.rows(epoch, *span), spans))
    ordered = [got[spans.index(span)] for span in sorted(spans)]
    return [tuple(np.concatenate([r[i] for r in ordered]) for i in range(3))]


def _rows_of(batches: list[tuple]) -> list[np.ndarray]:
    return [np.concatenate([b[i] for b in batches]) for i in range(len(batches[0]))]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def test_the_fresh_stream_is_a_function_of_seed_epoch_and_chunk_only(small_chunks):
    overrides = ["train.examples=45", "train.batch_size=7", "train.mask_loss=true"]
    cfg, pipeline, _, exclude = _setup(overrides)
    fed = _fed(_stream(cfg, pipeline, exclude), 1)
    assert [len(b[1]) for b in fed] == [7] * 6 + [3]  # batches straddle the chunks of 16
    # any thread, any order, a fresh stream (no shared state): the same rows
    spans = [(start, min(start + 5, 45)) for start in range(0, 45, 5)]
    random.Random(0).shuffle(spans)
    asked = _asked(_stream(cfg, pipeline, exclude), 1, spans, threads=4)
    assert _same(_rows_of(fed), _rows_of(asked))
    # the rows are the epoch's chunks in turn, encoded by the framing
    chunks = [draw_chunk(pipeline.space, 45, training_streams(cfg), None, 1, i) for i in range(3)]
    rows = Problems.concat(chunks)
    framing = pipeline.framing
    expected = [framing.inputs(rows), framing.targets(rows), framing.sample_weights(rows)]
    assert _same(_rows_of(fed), expected)

    assert not _same(_rows_of(fed), _rows_of(_fed(_stream(cfg, pipeline, exclude), 2)))
    other, other_pipeline, _, _ = _setup([*overrides, "seed=2"])
    assert not _same(_rows_of(fed), _rows_of(_fed(_stream(other, other_pipeline, exclude), 1)))


def test_the_fixed_set_feeds_each_epoch_in_its_own_order(small_chunks):
    cfg = compose(["train=fixed", "train.examples=40", "train.batch_size=6"])
    x = np.arange(40)[:, None]
    data = FixedSet((x, x[:, 0], None), 6, training_streams(cfg), 0)
    fed = _fed(data, 3)
    assert len(fed[0]) == 2 and [len(b[1]) for b in fed] == [6] * 6 + [4]  # no weights
    order = _rows_of(fed)[1]
    assert np.array_equal(order, training_streams(cfg).order(3).permutation(40))
    assert not np.array_equal(order, _rows_of(_fed(data, 4))[1])


@pytest.mark.parametrize("overrides", [[], ["eval.disjoint=true", "data.largest=99"]])
def test_streamed_marking_of_seen_questions_is_brute_force_exact(small_chunks, overrides):
    """Questions of evaluated sets found in training, marked chunk by chunk, are exactly those a
    set of every training question holds; an epoch counts only once completed."""
    cfg, pipeline, test, exclude = _setup(["train.examples=40", "train.epochs=3", *overrides])
    streams = training_streams(cfg)
    every = np.concatenate(
        [
            question_keys(draw_chunk(pipeline.space, 40, streams, exclude, epoch, index))
            for epoch in range(3)
            for index in range(3)
        ]
    )
    watched = question_keys(test)
    brute = np.unique(watched[np.isin(watched, every)])
    assert len(brute) > 0 or overrides  # the tiny space: training meets the test set

    training = Training(pipeline, cfg.train, streams, watched, exclude)
    assert np.array_equal(replay_seen_keys(training, 3), brute)
    seen = Seen(watched)
    data = _stream(cfg, pipeline, exclude, seen)
    for epoch in range(3):
        _fed(data, epoch)
        seen.complete(epoch)
    assert np.array_equal(seen.keys, brute)
    if overrides:  # eval.disjoint: training never draws a test question
        assert len(brute) == 0

    unfinished = Seen(watched)
    _fed(_stream(cfg, pipeline, exclude, unfinished), 0)
    assert len(unfinished.keys) == 0  # epoch 0 not completed: nothing counts yet
    replayed = Seen(watched)
    replay_seen(pipeline.space, cfg.train, streams, exclude, replayed, 1)
    assert set(replayed.keys) <= set(brute)
