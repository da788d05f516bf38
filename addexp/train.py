"""Fitting a compiled model under one of two data regimes, reporting each epoch as it ends.

`fresh` (the tutorial): every epoch is one pass over a new draw of `train.examples` problems.
`fixed` (the Keras example): one set of `train.examples` distinct problems, `val_fraction` of them
held out, one pass per epoch. The keys of every training problem are kept for the overlap report.
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
    seen_keys: np.ndarray  # row keys of every problem trained on (for test/train_overlap)
    seconds: float  # wall time of the fit loop, data generation included
    history: list[dict[str, float]]  # one dict of metrics per epoch


def compile_model(model: keras.Model, framing, train_cfg) -> None:
    optimizer = getattr(keras.optimizers, OPTIMIZERS[train_cfg.optimizer])(
        learning_rate=train_cfg.learning_rate
    )
    model.compile(optimizer=optimizer, loss=framing.loss, metrics=list(framing.metrics))


def _validation_scores(model, framing, val: P.Problems, batch_size: int) -> dict[str, float]:
    outputs = model.predict(framing.inputs(val), batch_size=max(batch_size, 256), verbose=0)
    answers = framing.answers(outputs)
    return score(val, expected_chars(framing.text_format, val), answers)


def fit(
    model: keras.Model,
    framing,
    space: P.OperandSpace,
    train_cfg,
    rng: np.random.Generator,
    on_epoch: Callable[[int, dict[str, float]], None],
) -> TrainResult:
    """Train for `train.epochs` epochs; call `on_epoch(epoch, metrics)` after each."""
    fixed = train_cfg.regime == "fixed"
    val = None
    if fixed:
        data = P.sample_distinct(space, train_cfg.examples, rng, train_cfg.distinct == "unordered")
        n_val = int(len(data) * train_cfg.val_fraction)
        train, val = (
            data.take(slice(0, len(data) - n_val)),
            data.take(slice(len(data) - n_val, None)),
        )
        x, y = framing.inputs(train), framing.targets(train)
        validation = (framing.inputs(val), framing.targets(val)) if n_val else None
        seen = [P.row_keys(train.operands)]
    else:
        seen = []
        validation = None

    history = []
    start = time.perf_counter()
    for epoch in range(train_cfg.epochs):
        if not fixed:
            batch = P.sample(space, train_cfg.examples, rng)
            x, y = framing.inputs(batch), framing.targets(batch)
            seen.append(P.row_keys(batch.operands))
        logs = model.fit(
            x,
            y,
            batch_size=train_cfg.batch_size,
            epochs=1,
            verbose=train_cfg.verbose,
            validation_data=validation,
        ).history
        metrics = {
            (f"val/{k[4:]}" if k.startswith("val_") else f"train/{k}"): float(v[-1])
            for k, v in logs.items()
        }
        if validation is not None:
            extra = _validation_scores(model, framing, val, train_cfg.batch_size)
            metrics["val/exact_match"] = extra["exact_match"]
        history.append(metrics)
        on_epoch(epoch, metrics)
    seconds = time.perf_counter() - start
    return TrainResult(np.unique(np.concatenate(seen)), seconds, history)
