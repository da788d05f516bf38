"""The checks of the `train` section: ranges, choices, and what the training space can give."""

from __future__ import annotations

from typing import Any

from addexp.config.checks import ConfigError, at_least, choice, rate
from addexp.config.schema import OPTIMIZERS
from addexp.problems.space import ProblemSpace
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
