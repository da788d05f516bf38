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
from addexp.decode import decode
from addexp.evaluate import score
from addexp.framings import expected_chars


@dataclass
class TrainResult:
    seen_keys: np.ndarray  # question keys of every problem trained on (for test/train_overlap)
    seconds: float  # wall time of the fit loop, data generation included
    history: list[dict[str, float]]  # one dict of metrics per epoch


def compile_model(model: keras.Model, framing, train_cfg) -> None:
    """The configured optimizer (with gradient clipping by norm when `train.clipnorm` > 0),
    the framing's loss and metrics."""
    clip = {"clipnorm": train_cfg.clipnorm} if train_cfg.clipnorm > 0 else {}
    optimizer = getattr(keras.optimizers, OPTIMIZERS[train_cfg.optimizer])(
        learning_rate=learning_rate(train_cfg, 0), **clip
    )
    model.compile(optimizer=optimizer, loss=framing.loss, metrics=list(framing.metrics))


def learning_rate(train_cfg, epoch: int) -> float:
    """The learning rate of epoch `epoch` (0-based): a linear warm-up over
    `train.warmup_epochs` to `train.learning_rate`, then `none` (constant), `cosine` (to 0 at
    the last epoch; Loshchilov & Hutter 2017) or `exponential` (times `train.decay_rate` per
    epoch). Set per epoch, as Keras's LearningRateScheduler does."""
    base, warm, epochs = train_cfg.learning_rate, train_cfg.warmup_epochs, train_cfg.epochs
    if epoch < warm:
        return base * (epoch + 1) / (warm + 1)
    after = epoch - warm
    if train_cfg.schedule == "cosine":
        return base * 0.5 * (1 + np.cos(np.pi * after / max(epochs - warm, 1)))
    if train_cfg.schedule == "exponential":
        return base * train_cfg.decay_rate**after
    return base


def early_stopping(train_cfg) -> keras.callbacks.EarlyStopping | None:
    """Keras's EarlyStopping on a per-epoch metric (`train.early_stopping.monitor`, e.g.
    `val/exact_match`), driven epoch by epoch by `fit`; None when off."""
    es = train_cfg.early_stopping
    if not es.monitor:
        return None
    return keras.callbacks.EarlyStopping(
        monitor=es.monitor,
        mode="min" if es.monitor.endswith("loss") else "max",
        patience=es.patience,
        min_delta=es.min_delta,
        restore_best_weights=es.restore_best_weights,
    )


def _arrays(framing, problems: P.Problems) -> tuple:
    return framing.inputs(problems), framing.targets(problems), framing.sample_weights(problems)


def split_fixed(
    space: P.ProblemSpace, train_cfg, rng: np.random.Generator, exclude: np.ndarray | None
) -> tuple[P.Problems, P.Problems | None]:
    """The `fixed` regime's data: distinct problems, the last `val_fraction` held out."""
    unordered = train_cfg.distinct == "unordered"
    data = P.sample_distinct(space, train_cfg.examples, rng, unordered, exclude)
    n_val = int(len(data) * train_cfg.val_fraction)
    train = data.take(slice(0, len(data) - n_val))
    return train, data.take(slice(len(data) - n_val, None)) if n_val else None


def draw_fresh(
    space: P.ProblemSpace, train_cfg, rng: np.random.Generator, exclude: np.ndarray | None
) -> P.Problems:
    """One epoch of the `fresh` regime: `train.examples` new problems."""
    return P.sample(space, train_cfg.examples, rng, exclude)


def replay_seen_keys(
    space: P.ProblemSpace, train_cfg, rng: np.random.Generator, exclude: np.ndarray | None
) -> np.ndarray:
    """The question keys a run trained on, redrawn from its seed without training (the data
    streams are independent of the model), for the overlap of sets evaluated later."""
    if train_cfg.regime == "fixed":
        return np.unique(P.question_keys(split_fixed(space, train_cfg, rng, exclude)[0]))
    draws = [draw_fresh(space, train_cfg, rng, exclude) for _ in range(train_cfg.epochs)]
    return np.unique(np.concatenate([P.question_keys(d) for d in draws]))


def fit(
    model: keras.Model,
    family,
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
    validation = val = None
    seen = []
    if fixed:
        train, val = split_fixed(space, train_cfg, rng, exclude)
        x, y, w = _arrays(framing, train)
        seen.append(P.question_keys(train))
        if on_data:
            on_data("training", train)
        if val is not None:
            validation = _arrays(framing, val)
            val_expected = expected_chars(framing.text_format, val)  # once, not every epoch
            if on_data:
                on_data("validation", val)

    history = []
    stopper = early_stopping(train_cfg)
    if stopper is not None:
        stopper.set_model(model)
        stopper.on_train_begin()
    start = time.perf_counter()
    for epoch in range(train_cfg.epochs):
        model.optimizer.learning_rate.assign(learning_rate(train_cfg, epoch))
        if not fixed:
            batch = draw_fresh(space, train_cfg, rng, exclude)
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
            answers = decode(model, family, framing, val).answers
            metrics["val/exact_match"] = score(val, val_expected, answers)["exact_match"]
        metrics["train/learning_rate"] = float(learning_rate(train_cfg, epoch))
        history.append(metrics)
        on_epoch(epoch, metrics)
        if stopper is not None:
            stopper.on_epoch_end(epoch, metrics)
            if model.stop_training:
                break
    if stopper is not None:
        stopper.on_train_end()  # restores the best epoch's weights if asked
    seconds = time.perf_counter() - start
    return TrainResult(np.unique(np.concatenate(seen)), seconds, history)
