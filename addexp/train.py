"""Fitting a compiled model under one of two data regimes, reporting each epoch as it ends.

`fresh` (the tutorial): every epoch is one pass over a new draw of `train.examples` problems.
`fixed` (the Keras example): one set of `train.examples` distinct problems, `val_fraction` of them
held out, one pass per epoch. The questions trained on are kept for the overlap report; questions
in `exclude` (a disjoint test set) are never trained on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from addexp import faults
from addexp import problems as P
from addexp.checkpoints import Progress
from addexp.config import OPTIMIZERS
from addexp.decode import decode
from addexp.evaluate import score
from addexp.framings import expected_chars
from addexp.pipeline import TrainingStreams


@dataclass
class TrainResult:
    seen_keys: np.ndarray  # question keys of every problem trained on (for test/train_overlap)
    seconds: float  # wall time of this process's fit loop, data generation included
    history: list[dict[str, float]]  # one dict of metrics per epoch (resumed ones included)


class StopOnSignal(keras.callbacks.Callback):
    """Ends `fit` after the current batch when a signal is waiting (`faults.pending`), the
    way Keras's own callbacks (EarlyStopping, TerminateOnNaN) stop training, instead of an
    exception thrown through `fit` mid-step."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if faults.pending():
            self.model.stop_training = True


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
        return base * 0.5 * (1 + math.cos(math.pi * after / max(epochs - warm, 1)))
    if train_cfg.schedule == "exponential":
        return base * train_cfg.decay_rate**after
    return base


def early_stopping(train_cfg) -> keras.callbacks.EarlyStopping | None:
    """Keras's EarlyStopping on a per-epoch metric (`train.early_stopping.monitor`, e.g.
    `val/exact_match`), driven epoch by epoch by `fit`; None when off. Its patience counts
    from the start of this process (a resumed run starts counting anew)."""
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


def _rows(x, order: np.ndarray):
    """Rows `order` of an input array, or of every array of a dict of inputs."""
    return {k: v[order] for k, v in x.items()} if isinstance(x, dict) else x[order]


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
    space: P.ProblemSpace,
    train_cfg,
    rng: np.random.Generator,
    exclude: np.ndarray | None,
    epochs: int | None = None,
) -> np.ndarray:
    """The question keys a run trained on in its first `epochs` epochs (default: all), redrawn
    from its seed without training (the data streams are independent of the model), for the
    overlap of sets evaluated later and for resuming. Leaves `rng` where training left it."""
    if train_cfg.regime == "fixed":
        return np.unique(P.question_keys(split_fixed(space, train_cfg, rng, exclude)[0]))
    epochs = train_cfg.epochs if epochs is None else epochs
    draws = [draw_fresh(space, train_cfg, rng, exclude) for _ in range(epochs)]
    return np.unique(np.concatenate([P.question_keys(d) for d in draws]))


def fit(
    model: keras.Model,
    family,
    framing,
    space: P.ProblemSpace,
    train_cfg,
    streams: TrainingStreams,
    on_epoch: Callable[[int, dict[str, float], Progress], None],
    exclude: np.ndarray | None = None,
    resume: Progress | None = None,
    on_data: Callable[[str, P.Problems], None] | None = None,
) -> TrainResult:
    """Train until `train.epochs` epochs are done; call `on_epoch(epoch, metrics, progress)`
    after each (epoch counts from 0).

    Each epoch is one `model.fit` pass over its examples in an order drawn from the epoch's own
    stream (`streams.order(epoch)`; Keras' shuffling draws from TensorFlow's global random state,
    which a resumed process cannot reproduce). With `resume` (a checkpoint's progress whose
    weights and optimizer state are already in `model`), the data of the epochs it completed are
    redrawn (NumPy only, for the questions seen), the data stream must then be exactly where the
    checkpoint saved it, and training goes on from there.

    `on_data(context, problems)` sees the training set and validation set once drawn
    (`fresh`: the first epoch's draw). The learning rate is set per epoch (`learning_rate`), and
    with `train.early_stopping` Keras's EarlyStopping may end training early.

    Within a run's `faults.deferred()` block a signal stops the epoch after the current batch
    (`StopOnSignal`) and raises `faults.Interrupted` before the epoch is recorded; one that
    arrives while `on_epoch` records an epoch waits for it. Raises Diverged as soon as the loss
    is NaN or infinite (Keras' TerminateOnNaN stops the epoch at that batch), and ValueError
    when `resume` does not match this data stream.
    """
    fixed = train_cfg.regime == "fixed"
    rng, done = streams.data, resume.epochs_done if resume else 0
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
    elif done:
        seen.append(replay_seen_keys(space, train_cfg, rng, exclude, done))
    if resume is not None and rng.bit_generator.state != resume.data_stream:
        raise ValueError(
            f"the checkpoint's data stream is not where redrawing its {done} epochs leads: it "
            "was written by a version of addexp that draws problems differently"
        )

    history = list(resume.history) if resume else []
    stopper = early_stopping(train_cfg)
    if stopper is not None:
        stopper.set_model(model)
        stopper.on_train_begin()
    start = time.perf_counter()
    for epoch in range(done, train_cfg.epochs):
        model.optimizer.learning_rate.assign(learning_rate(train_cfg, epoch))
        if not fixed:
            batch = draw_fresh(space, train_cfg, rng, exclude)
            x, y, w = _arrays(framing, batch)
            seen.append(P.question_keys(batch))
            if on_data and epoch == 0:
                on_data("training", batch)
        order = streams.order(epoch).permutation(len(y))
        faults.check()
        logs = model.fit(
            _rows(x, order),
            y[order],
            sample_weight=None if w is None else w[order],
            batch_size=train_cfg.batch_size,
            epochs=1,
            verbose=train_cfg.verbose,
            validation_data=validation,
            shuffle=False,
            callbacks=[keras.callbacks.TerminateOnNaN(), StopOnSignal()],
        ).history
        faults.check()  # a signal stopped the epoch: it is not recorded
        loss = float(logs["loss"][-1])
        if not math.isfinite(loss):
            raise faults.Diverged(epoch + 1, train_cfg.epochs, loss)
        metrics = {
            (f"val/{k[4:]}" if k.startswith("val_") else f"train/{k}"): float(v[-1])
            for k, v in logs.items()
        }
        if val is not None:
            answers = decode(model, family, framing, val).answers
            metrics["val/exact_match"] = score(val, val_expected, answers)["exact_match"]
        metrics["train/learning_rate"] = learning_rate(train_cfg, epoch)
        history.append(metrics)
        on_epoch(epoch, metrics, Progress(epoch + 1, rng.bit_generator.state, list(history)))
        if stopper is not None:
            stopper.on_epoch_end(epoch, metrics)
            if model.stop_training:
                break
    if stopper is not None:
        stopper.on_train_end()  # restores the best epoch's weights if asked
    seconds = time.perf_counter() - start
    return TrainResult(np.unique(np.concatenate(seen)), seconds, history)
