"""Fitting a compiled model under one of two data regimes, reporting each epoch as it ends.

`fresh` (the tutorial): every epoch is one pass over a new draw of `train.examples` problems.
`fixed` (the Keras example): one set of `train.examples` distinct problems, `val_fraction` of them
held out, one pass per epoch. The questions trained on are kept for the overlap report; questions
in `exclude` (a disjoint test set) are never trained on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from addexp import problems as P
from addexp.config import OPTIMIZERS
from addexp.evaluate import score
from addexp.framings import expected_chars


@dataclass
class TrainResult:
    seen_keys: np.ndarray  # question keys of every problem trained on (for test/train_overlap)
    seconds: float  # wall time of the fit loop, data generation included
    history: list[dict[str, float]]  # one dict of metrics per epoch


def compile_model(model: keras.Model, framing, train_cfg) -> None:
    optimizer = getattr(keras.optimizers, OPTIMIZERS[train_cfg.optimizer])(
        learning_rate=train_cfg.learning_rate
    )
    model.compile(optimizer=optimizer, loss=framing.loss, metrics=list(framing.metrics))


def _arrays(framing, problems: P.Problems) -> tuple:
    return framing.inputs(problems), framing.targets(problems), framing.sample_weights(problems)


def _val_exact_match(model, framing, val: P.Problems, x: np.ndarray, expected: np.ndarray) -> float:
    answers = framing.answers(model.predict(x, batch_size=1024, verbose=0))
    return score(val, expected, answers)["exact_match"]


def fit(
    model: keras.Model,
    framing,
    space: P.ProblemSpace,
    train_cfg,
    rng: np.random.Generator,
    on_epoch: Callable[[int, dict[str, float]], None],
    exclude: np.ndarray | None = None,
    on_data: Callable[[str, P.Problems], None] | None = None,
) -> TrainResult:
    """Train for `train.epochs` epochs; call `on_epoch(epoch, metrics)` after each, and
    `on_data(context, problems)` with the training set and validation set once drawn (`fresh`:
    the first epoch's draw)."""
    fixed = train_cfg.regime == "fixed"
    val = validation = None
    seen = []
    if fixed:
        unordered = train_cfg.distinct == "unordered"
        data = P.sample_distinct(space, train_cfg.examples, rng, unordered, exclude)
        n_val = int(len(data) * train_cfg.val_fraction)
        train = data.take(slice(0, len(data) - n_val))
        x, y, w = _arrays(framing, train)
        seen.append(P.question_keys(train))
        if on_data:
            on_data("training", train)
        if n_val:
            val = data.take(slice(len(data) - n_val, None))
            validation = _arrays(framing, val)
            val_expected = expected_chars(framing.text_format, val)  # once, not every epoch
            if on_data:
                on_data("validation", val)

    history = []
    start = time.perf_counter()
    for epoch in range(train_cfg.epochs):
        if not fixed:
            batch = P.sample(space, train_cfg.examples, rng, exclude)
            x, y, w = _arrays(framing, batch)
            seen.append(P.question_keys(batch))
            if on_data and epoch == 0:
                on_data("training", batch)
        logs = model.fit(
            x,
            y,
            sample_weight=w,
            batch_size=train_cfg.batch_size,
            epochs=1,
            verbose=train_cfg.verbose,
            validation_data=validation,
        ).history
        metrics = {
            (f"val/{k[4:]}" if k.startswith("val_") else f"train/{k}"): float(v[-1])
            for k, v in logs.items()
        }
        if val is not None:
            metrics["val/exact_match"] = _val_exact_match(
                model, framing, val, validation[0], val_expected
            )
        history.append(metrics)
        on_epoch(epoch, metrics)
    seconds = time.perf_counter() - start
    return TrainResult(np.unique(np.concatenate(seen)), seconds, history)
