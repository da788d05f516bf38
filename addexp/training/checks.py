"""The checks of the `train` section: ranges, choices, and what the training space can give
(a curriculum's among them: `check_curriculum`)."""

from __future__ import annotations

from typing import Any

from addexp.config.checks import ConfigError, at_least, choice, rate
from addexp.config.schema import OPTIMIZERS
from addexp.framing.framings import FRAMINGS
from addexp.models import FAMILIES
from addexp.problems.space import ProblemSpace
from addexp.training.curriculum import CURRICULA, monitors
from addexp.training.progress import MODES


def check_train(cfg: Any, space: ProblemSpace) -> None:
    """The `train` section over the training `space`. Raises ConfigError naming the key."""
    t = cfg.train
    at_least("train.epochs", t.epochs, 1)
    at_least("train.batch_size", t.batch_size, 1)
    at_least("train.examples", t.examples, 1)
    # runs logged before checkpoints existed lack the key (addexp-eval validates their config)
    at_least("train.checkpoint_every", t.get("checkpoint_every", 0), 0)
    at_least("train.steps_per_execution", t.get("steps_per_execution", 0), 0)
    if t.learning_rate <= 0:
        raise ConfigError(f"train.learning_rate={t.learning_rate} is out of range; it must be > 0.")
    choice("train.optimizer", t.optimizer, sorted(OPTIMIZERS))
    choice("train.regime", t.regime, ["fresh", "fixed"])
    choice("train.distinct", t.distinct, ["ordered", "unordered"])
    choice("train.progress", t.progress, list(MODES))
    rate("train.val_fraction", t.val_fraction)
    if t.regime == "fixed" and t.val_fraction > 0 and int(t.examples * t.val_fraction) < 1:
        raise ConfigError(
            f"train.val_fraction={t.val_fraction} of train.examples={t.examples} holds out no "
            "example; raise either, or set train.val_fraction=0."
        )
    if t.distinct == "unordered" and not space.sums_only:
        raise ConfigError(
            "train.distinct=unordered counts a+b and b+a once, which holds for sums only; "
            "use train.distinct=ordered with these data.operations/data.brackets."
        )
    if t.regime == "fixed":
        available = space.size(unordered=t.distinct == "unordered")
        if t.examples > available:
            raise ConfigError(
                f"train.examples={t.examples} asks for more distinct problems than the data "
                f"space holds ({available} with train.distinct={t.distinct}); lower "
                "train.examples, widen the data range, or use train.regime=fresh."
            )
    at_least("train.threads", t.threads, 0)
    at_least("train.clipnorm", t.clipnorm, 0.0)
    choice("train.schedule", t.schedule, ["none", "cosine", "exponential"])
    at_least("train.warmup_epochs", t.warmup_epochs, 0)
    if t.warmup_epochs >= t.epochs:
        raise ConfigError(
            f"train.warmup_epochs={t.warmup_epochs} leaves no epoch after the warm-up of "
            f"train.epochs={t.epochs}; lower it."
        )
    if not 0.0 < t.decay_rate <= 1.0:
        raise ConfigError(f"train.decay_rate={t.decay_rate} is out of range; use (0, 1].")
    es = t.early_stopping
    if es.monitor is not None:
        allowed = ["train/loss", "train/accuracy"]
        if t.regime == "fixed" and t.val_fraction > 0:
            allowed += ["val/loss", "val/accuracy", "val/exact_match"]
        choice("train.early_stopping.monitor", es.monitor, allowed)
        at_least("train.early_stopping.patience", es.patience, 0)
    check_curriculum(cfg, space)


def check_curriculum(cfg: Any, space: ProblemSpace) -> None:
    """`train.curriculum` over the training `space` (absent from runs logged before curricula
    existed). Raises ConfigError naming the key: a curriculum needs operands drawn by digit
    count, a start within the space's lengths, a threshold in (0, 1], a monitor the run
    records, and with `eval.disjoint` a shortest length that leaves enough to train on."""
    t = cfg.train
    c = t.get("curriculum")
    if c is None:
        return
    choice("train.curriculum.name", c.name, CURRICULA)
    if c.name == "none":
        return
    key = f"train.curriculum.name={c.name}"
    if space.mode != "digits":
        raise ConfigError(
            f"{key} schedules operand lengths, which data.operands={space.mode} does not draw; "
            "use data=digits (data.operands=digits, lengths data.min_digits..data.max_digits), "
            "or train.curriculum.name=none."
        )
    lo, hi = space.min_digits, space.max_digits
    start = lo if c.start is None else c.start
    if not lo <= start <= hi:
        raise ConfigError(
            f"train.curriculum.start={start} is out of range; it must be in {lo}..{hi} "
            "(data.min_digits..data.max_digits), or null for data.min_digits."
        )
    at_least("train.curriculum.step", c.step, 1)
    if not 0.0 < c.threshold <= 1.0:
        raise ConfigError(f"train.curriculum.threshold={c.threshold} is out of range; use (0, 1].")
    if not 0.0 <= c.mix_fraction <= 1.0:
        raise ConfigError(
            f"train.curriculum.mix_fraction={c.mix_fraction} is out of range; use [0, 1]."
        )
    at_least("train.curriculum.probe", c.probe, 1)
    accuracy = "accuracy" in FRAMINGS[FAMILIES[cfg.model.name].framing].metrics
    validation = t.val_fraction > 0
    choice("train.curriculum.monitor", c.monitor, monitors(t.regime, validation, accuracy))
    _check_disjoint_lengths(cfg, space, start if c.name == "naive" else lo)


def _check_disjoint_lengths(cfg: Any, space: ProblemSpace, shortest: int) -> None:
    """With `eval.disjoint`, the problems at the `shortest` operand length a curriculum trains
    on must number at least 10 x eval.examples, as `eval.disjoint` asks of the whole space:
    the test set could otherwise hold all of them. Raises ConfigError."""
    examples = cfg.eval.examples
    if not cfg.eval.disjoint:
        return
    size = space.with_changes(min_digits=shortest, max_digits=shortest).size()
    if size < 10 * examples:
        raise ConfigError(
            f"train.curriculum.name={cfg.train.curriculum.name} with eval.disjoint=true trains "
            f"at operand length {shortest}, whose {size} problems are fewer than 10 x "
            f"eval.examples={examples}; raise train.curriculum.start (naive) or "
            "data.min_digits, lower eval.examples, or set eval.disjoint=false."
        )
