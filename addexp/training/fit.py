"""Fitting a compiled model under one of two data regimes, reporting each epoch as it ends.

`fresh` (the tutorial): every epoch is one pass over a new draw of `train.examples` problems,
streamed in chunks. `fixed` (the Keras example): one set of `train.examples` distinct problems,
`val_fraction` of them held out, one pass per epoch. The data are tf.data pipelines fed a
chunk at a time (`addexp.training.batches`), trained in one `model.fit` over all epochs; Keras's own
callbacks set the learning rate (`LearningRateScheduler`), stop on a NaN loss
(`TerminateOnNaN`) and stop early (`EarlyStopping`). Questions in `exclude` (a disjoint test
set) are never trained on. With `train.curriculum` (`addexp.training.curriculum`; Zaremba &
Sutskever 2014) each epoch's data follow the schedule's length for that epoch, which the
epoch's end moves on (`EpochReport`), and a resumed run recomputes it from its checkpoint.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from addexp.config.schema import OPTIMIZERS
from addexp.evaluation.decode import PREDICT_BATCH, decode
from addexp.evaluation.metrics import METRICS, Scored
from addexp.framing.layouts import layouts_for
from addexp.problems import space as P
from addexp.problems.sampling import sample_distinct
from addexp.training import curriculum as C
from addexp.training import faults
from addexp.training.batches import (
    EpochCursor,
    FixedCurriculum,
    FixedSet,
    FreshStream,
    Seen,
    fingerprint,
    replay_seen,
)
from addexp.training.checkpoints import Progress
from addexp.training.pipeline import Pipeline, TrainingStreams

log = logging.getLogger("addexp")


@dataclass
class TrainResult:
    seen_keys: np.ndarray  # the watched question keys trained on (for <set>/train_overlap)
    seconds: float  # wall time of this process's fit loop, data generation included
    history: list[dict[str, float]]  # one dict of metrics per epoch (resumed ones included)
    best_epoch: int | None = None  # with early stopping: the best epoch of its metric, 1-based
    params: dict[str, str] = field(default_factory=dict)  # to log: a curriculum's schedule


class StopOnSignal(keras.callbacks.Callback):
    """Ends `fit` after the current batch when a signal is waiting (`faults.pending`), the
    way Keras's own callbacks (EarlyStopping, TerminateOnNaN) stop training, instead of an
    exception thrown through `fit` mid-step."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if faults.pending():
            self.model.stop_training = True


EXAMPLES_PER_EXECUTION = 512  # train.steps_per_execution=0: about this many examples a call


def steps_per_execution(train_cfg) -> int:
    """Batches per call of the compiled training step: `train.steps_per_execution`, or with 0
    (the default) enough batches for about `EXAMPLES_PER_EXECUTION` examples, at least one.

    Keras runs them in one `tf.function` call (a `tf.while_loop` over the batches), so the
    Python of a train step (calling the function, reading the optional outputs, the per-batch
    callbacks) is paid once per call instead of once per batch: at the tutorial's batch of 10
    that Python is about as long as the step's arithmetic. The updates are the same, in the same
    order, so the result is the same bit for bit. What changes is how often per-batch callbacks
    run: a NaN loss or a waiting signal stops training after the call it happens in (a few tens
    of milliseconds at this size) instead of after the batch."""
    if train_cfg.steps_per_execution:
        return int(train_cfg.steps_per_execution)
    return max(1, math.ceil(EXAMPLES_PER_EXECUTION / train_cfg.batch_size))


def compile_model(model: keras.Model, framing, train_cfg) -> dict[str, str]:
    """The configured optimizer (with gradient clipping by norm when `train.clipnorm` > 0),
    the framing's loss and metrics (weighted by the framing's sample weights, as the loss is:
    steps after an answer's end count in neither), `steps_per_execution(train_cfg)` batches per
    call of the compiled training step, and XLA (`train.jit_compile`) for the training,
    evaluation and prediction steps. Returns what was used, as the run records it:
    `derived.jit_compile` and `derived.steps_per_execution`.

    Every family compiles with XLA on CPU. Where Keras finds a layer that cannot (an LSTM or GRU
    running on cuDNN, on a GPU), Keras itself falls back to no XLA with a Python warning; this
    is then logged as a warning naming the family, and the run records what was used
    (`derived.jit_compile`), rather than refusing a config that works on another machine.
    """
    clip = {"clipnorm": train_cfg.clipnorm} if train_cfg.clipnorm > 0 else {}
    optimizer = getattr(keras.optimizers, OPTIMIZERS[train_cfg.optimizer])(
        learning_rate=learning_rate(train_cfg, 0), **clip
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Model doesn't support `jit_compile=True`")
        model.compile(
            optimizer=optimizer,
            loss=framing.loss,
            weighted_metrics=list(framing.metrics),  # with the loss's sample weights
            jit_compile=bool(train_cfg.jit_compile),
            steps_per_execution=steps_per_execution(train_cfg),
        )
    used = bool(model.jit_compile)
    if train_cfg.jit_compile and not used:
        log.warning(
            "train.jit_compile=true: Keras cannot compile model %s with XLA here (a layer "
            "does not support it, e.g. a recurrent layer on cuDNN); training without XLA",
            model.name,
        )
    return {
        "derived.jit_compile": str(used),
        "derived.steps_per_execution": str(model.steps_per_execution),
    }


def learning_rate(train_cfg, epoch: int) -> float:
    """The learning rate of epoch `epoch` (0-based): a linear warm-up over
    `train.warmup_epochs` to `train.learning_rate` (epoch e of the warm-up at (e + 1) / (warm-up
    + 1) of it), then `none` (constant), `cosine` (half a cosine period over the epochs after
    the warm-up, falling towards 0, which it would reach one epoch after the last, so that no
    epoch trains at rate 0; Loshchilov & Hutter 2017) or `exponential` (times
    `train.decay_rate` per epoch). Set once per epoch, a staircase, as Keras's
    LearningRateScheduler does; e.g. 3 epochs, 1 of warm-up, rate r: r/2, r, r/2."""
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
    `val/exact_match`: `EpochReport`, before it in the callbacks, names the logs so); None
    when off. Its patience counts from the start of this process (a resumed run starts
    counting anew)."""
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
    data = sample_distinct(space, train_cfg.examples, rng, unordered, exclude)
    n_val = int(len(data) * train_cfg.val_fraction)
    train = data.take(slice(0, len(data) - n_val))
    return train, data.take(slice(len(data) - n_val, None)) if n_val else None


@dataclass(frozen=True)
class Training:
    """What one run trains on: the `pipeline` (space, family, framing), `train` (the config's
    train group), its `streams`, `watched` (question keys of the sets to be scored: the result's
    `seen_keys` are those trained on), `exclude` (question keys never trained on: a disjoint
    test set; None) and `on_data(context, problems)`, which sees the training and validation
    sets once drawn (`fresh`: the first chunk of the first epoch, at most `batches.CHUNK`
    problems; None)."""

    pipeline: Pipeline
    train: Any
    streams: TrainingStreams
    watched: np.ndarray
    exclude: np.ndarray | None = None
    on_data: Callable[[str, P.Problems], None] | None = None

    def show(self, context: str, problems: P.Problems) -> None:
        if self.on_data is not None:
            self.on_data(context, problems)


def progression_of(training: Training, history: list[dict[str, float]]) -> C.Progression | None:
    """The curriculum's progression after the epochs of `history` (a checkpoint's per-epoch
    metrics; [] at the start), None without a curriculum. Raises ValueError when the history
    recorded other lengths than its monitored values give (`curriculum.Progression.restored`)."""
    curriculum = C.from_config(training.train, training.pipeline.space)
    if curriculum is None:
        return None
    return C.Progression.restored(curriculum, history)


def _fixed_curriculum(
    train: P.Problems, progression: C.Progression | None, seen: Seen
) -> FixedCurriculum | None:
    if progression is None:
        return None
    return FixedCurriculum(progression, C.problem_lengths(train), P.question_keys(train), seen)


def replay_seen_keys(
    training: Training, epochs: int, history: list[dict[str, float]] | None = None
) -> np.ndarray:
    """The keys of `training.watched` that a run trained on in its first `epochs` epochs,
    redrawn from its seed without training (the data streams are independent of the model):
    the fixed set, or the fresh regime's draws chunk by chunk, so memory stays that of one
    chunk however long the run trained. With a curriculum, the epochs are redrawn at their
    stages, which `history` (the run's per-epoch metrics, the monitored one at least) gives;
    raises ValueError when a schedule that follows it lacks the epochs before the last."""
    cfg, space = training.train, training.pipeline.space
    seen = Seen(training.watched)
    progression = progression_of(training, (history or [])[:epochs])
    if progression is not None and not progression.knows(epochs):
        raise ValueError(f"a curriculum's {epochs} epochs are redrawn from their history")
    if cfg.regime == "fixed":
        train, _ = split_fixed(space, cfg, training.streams.data, training.exclude)
        curriculum = _fixed_curriculum(train, progression, seen)
        if curriculum is not None:
            curriculum.replay(training.streams, epochs)
        else:
            seen.mark(0, P.question_keys(train))
            seen.complete(0)
    else:
        replay_seen(space, cfg, training.streams, training.exclude, seen, epochs, progression)
    return seen.keys


@dataclass(frozen=True)
class Validation:
    """Held-out `problems` (the fixed regime's, or a curriculum's probe) and the `expected`
    characters of their right answers ((n, width), each row in its own layout), decoded after
    each epoch."""

    problems: P.Problems
    expected: np.ndarray

    @staticmethod
    def of(pipeline: Pipeline, problems: P.Problems) -> Validation:
        layouts = layouts_for(pipeline.framing, problems, pipeline.family.any_length)
        return Validation(problems, layouts.expected(problems))

    def exact_match(self, model: keras.Model, pipeline: Pipeline) -> float:
        """The share of `problems` that `model` answers exactly (decoded as at test time)."""
        answers = decode(model, pipeline.family, pipeline.framing, self.problems).answers
        return METRICS["exact_match"].compute(Scored(self.problems, self.expected, answers))


class Probe:
    """A curriculum's `probe` problems at an operand length, drawn from that length's own
    stream (`TrainingStreams.probe`: the same problems whenever the length is trained, as
    Zaremba & Sutskever's code validates at the current length) and kept per length; scored
    after each epoch at the epoch's length: `curriculum.PROBE_METRIC`."""

    def __init__(self, training: Training, curriculum: C.Curriculum):
        self.training, self.curriculum = training, curriculum
        self._sets: dict[int, Validation] = {}

    def exact_match(self, model: keras.Model, length: int) -> float:
        pipeline = self.training.pipeline
        if length not in self._sets:
            lengths = np.full(self.curriculum.probe, length)
            rng = self.training.streams.probe(length)
            problems = C.sample_at_lengths(pipeline.space, lengths, rng)
            self._sets[length] = Validation.of(pipeline, problems)
        return self._sets[length].exact_match(model, pipeline)

    @staticmethod
    def of(training: Training, progression: C.Progression | None) -> Probe | None:
        """The probe of a curriculum whose length follows its monitor (naive, combined: the
        exact match at the current length is logged whichever metric is monitored), else
        None."""
        if progression is None or not progression.curriculum.adaptive:
            return None
        return Probe(training, progression.curriculum)


@dataclass(frozen=True)
class Feed:
    """The data of one `fit`: the batches (`FixedSet` or `FreshStream`), their fingerprint
    (`digest`, checked against a resumed checkpoint's), the questions marked as seen so far,
    the validation set (None: no validation) and, with a curriculum, its `progression` and
    `probe` (None each without)."""

    data: FixedSet | FreshStream
    digest: str
    seen: Seen
    validation: Validation | None = None
    progression: C.Progression | None = None
    probe: Probe | None = None


def _fixed_feed(training: Training, done: int, progression: C.Progression | None) -> Feed:
    framing, cfg = training.pipeline.framing, training.train
    train, val = split_fixed(training.pipeline.space, cfg, training.streams.data, training.exclude)
    seen = Seen(training.watched)
    curriculum = _fixed_curriculum(train, progression, seen)
    if curriculum is None:
        seen.mark(done, P.question_keys(train))
        seen.complete(done)
    else:
        curriculum.replay(training.streams, done)
    arrays = _arrays(framing, train)
    data = FixedSet(arrays, cfg.batch_size, training.streams, done, curriculum)
    training.show("training", train)
    validation = None
    if val is not None:
        validation = Validation.of(training.pipeline, val)
        training.show("validation", val)
    probe = Probe.of(training, progression)
    return Feed(data, fingerprint(train), seen, validation, progression, probe)


def _fresh_feed(training: Training, done: int, progression: C.Progression | None) -> Feed:
    space, cfg, streams = training.pipeline.space, training.train, training.streams
    seen, exclude = Seen(training.watched), training.exclude
    framing = training.pipeline.framing
    data = FreshStream(space, framing, cfg, streams, exclude, seen, done, progression)
    first = data.problems(0, 0)
    replay_seen(space, cfg, streams, exclude, seen, done, progression)
    training.show("training", first)
    probe = Probe.of(training, progression)
    return Feed(data, fingerprint(first), seen, None, progression, probe)


def _check_fingerprint(resume: Progress, digest: str) -> None:
    """Raises ValueError when a checkpoint was trained on other data than this addexp draws."""
    if digest != resume.data_digest:
        raise ValueError(
            f"the checkpoint's training data (fingerprint {resume.data_digest}) are not what "
            f"this addexp draws for the config (fingerprint {digest}): it was written by a "
            "version of addexp that draws problems differently"
        )


class EpochReport(keras.callbacks.Callback):
    """Reports each epoch as it ends, first among the callbacks that read its logs.

    Raises `faults.Interrupted` when a signal stopped the epoch (it is not recorded) and
    `faults.Diverged` when its loss is NaN or infinite (TerminateOnNaN stopped it at that
    batch). Otherwise names the logs as a run records them (`loss` -> `train/loss`,
    `val_accuracy` -> `val/accuracy`, `learning_rate` from the LearningRateScheduler ->
    `train/learning_rate`), adds `val/exact_match` (the validation set decoded) and a
    curriculum's metrics (`_curriculum`), replaces `logs` by them in place (so EarlyStopping,
    after it, monitors these names), counts the epoch's questions as seen and calls
    `on_epoch(epoch, metrics, progress)`."""

    def __init__(
        self,
        training: Training,
        feed: Feed,
        on_epoch: Callable[[int, dict[str, float], Progress], None],
        history: list[dict[str, float]],
    ):
        super().__init__()
        self.training, self.feed, self.on_epoch, self.history = training, feed, on_epoch, history

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        faults.check()  # a signal stopped the epoch: it is not recorded
        logs = logs if logs is not None else {}
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            raise faults.Diverged(epoch + 1, self.training.train.epochs, loss)
        metrics = {
            (f"val/{k[4:]}" if k.startswith("val_") else f"train/{k}"): float(v)
            for k, v in logs.items()
        }
        val = self.feed.validation
        if val is not None:
            metrics["val/exact_match"] = val.exact_match(self.model, self.training.pipeline)
        metrics |= self._curriculum(epoch, metrics)
        logs.clear()
        logs.update(metrics)
        self.feed.seen.complete(epoch)
        self.history.append(metrics)
        progress = Progress(epoch + 1, self.feed.digest, list(self.history))
        self.on_epoch(epoch, metrics, progress)

    def _curriculum(self, epoch: int, metrics: dict[str, float]) -> dict[str, float]:
        """Epoch `epoch`'s curriculum metrics (none without one): the probe's exact match at
        the epoch's length (`curriculum.PROBE_METRIC`; naive and combined), then the length
        and whether the epoch made it grow, recorded in the progression (which moves the next
        epoch's data on)."""
        progression, probe = self.feed.progression, self.feed.probe
        if progression is None:
            return {}
        scored = {}
        if probe is not None:
            length = progression.stage(epoch).length
            scored[C.PROBE_METRIC] = probe.exact_match(self.model, length)
        return scored | progression.record(epoch, metrics | scored)


def fit(
    model: keras.Model,
    training: Training,
    on_epoch: Callable[[int, dict[str, float], Progress], None],
    resume: Progress | None = None,
) -> TrainResult:
    """Train until `train.epochs` epochs are done in one `model.fit`; call
    `on_epoch(epoch, metrics, progress)` after each (epoch counts from 0).

    The data are `addexp.training.batches.FreshStream` or `FixedSet`. With `resume` (a
    checkpoint's progress whose weights and optimizer state are already in `model`), the
    questions of the epochs it completed are redrawn (NumPy only, for the overlap), the data
    must have the checkpoint's fingerprint (the fixed set, or the fresh regime's first chunk: a
    checkpoint written by an addexp that draws problems otherwise is refused with ValueError),
    a curriculum's schedule is recomputed from the checkpoint's history (ValueError when it
    recorded other lengths) and `fit` goes on from `initial_epoch`. The result's `params`
    describe a curriculum's schedule (`curriculum.schedule`). Callbacks: `EpochCursor` (the
    data's epoch), Keras's `LearningRateScheduler` (`learning_rate`), `TerminateOnNaN`,
    `StopOnSignal`, `EpochReport` and, with `train.early_stopping`, Keras's `EarlyStopping`,
    which may end training early (and restore the best weights at its end).

    Within a run's `faults.deferred()` block a signal stops the epoch after the current batch
    (`StopOnSignal`) and raises `faults.Interrupted` before the epoch is recorded; one that
    arrives while `on_epoch` records an epoch waits for it. Raises Diverged as soon as the loss
    is NaN or infinite. `seconds` is the wall time of `fit`, data generation included.
    """
    cfg = training.train
    done = resume.epochs_done if resume else 0
    history = list(resume.history) if resume else []
    progression = progression_of(training, history)
    feed = (_fixed_feed if cfg.regime == "fixed" else _fresh_feed)(training, done, progression)
    if resume is not None:
        _check_fingerprint(resume, feed.digest)
    stopper = early_stopping(cfg)
    callbacks = [
        EpochCursor(feed.data),
        keras.callbacks.LearningRateScheduler(lambda epoch, _: learning_rate(cfg, epoch)),
        keras.callbacks.TerminateOnNaN(),
        StopOnSignal(),
        EpochReport(training, feed, on_epoch, history),
        *([stopper] if stopper is not None else []),
    ]
    val = feed.validation
    validation = None if val is None else _arrays(training.pipeline.framing, val.problems)
    start = time.perf_counter()
    if done < cfg.epochs:
        faults.check()
        model.fit(
            feed.data.dataset(),
            epochs=cfg.epochs,
            initial_epoch=done,
            verbose=cfg.verbose,
            validation_data=validation,
            validation_batch_size=PREDICT_BATCH,  # Keras's default for a dataset is 32
            shuffle=False,  # the order is the data's own (Keras would warn it ignores it)
            callbacks=callbacks,
        )
        faults.check()  # a signal after the last epoch was recorded
    seconds = time.perf_counter() - start
    best = None  # the stopper saw its metric at least once in this fit: its best epoch
    if stopper is not None and getattr(stopper, "best", None) is not None:
        best = stopper.best_epoch + 1  # Keras counts from 0, as fit's epochs
    params = {} if progression is None else {"curriculum.schedule": progression.describe()}
    return TrainResult(feed.seen.keys, seconds, history, best, params)
