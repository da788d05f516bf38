"""The checks Hydra's types cannot do: ranges and combinations, before anything is trained.

`validate` raises `ConfigError` with one paragraph that names the key and what it may be.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from addexp.config import OBJECTIVES, OPTIMIZERS
from addexp.progress import MODES


class ConfigError(ValueError):
    """A user's configuration mistake: reported as one paragraph, without a traceback."""


def _choice(key: str, value: Any, allowed: list[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of: {', '.join(allowed)}.")


def _at_least(key: str, value: int | float, low: int | float) -> None:
    if value < low:
        raise ConfigError(f"{key}={value} is out of range; it must be >= {low}.")


def validate(cfg: DictConfig) -> None:
    """Check ranges and combinations that types cannot express; raise ConfigError on the first."""
    from addexp.encoding import ENCODINGS
    from addexp.models import MODELS  # the registry decides which model names exist
    from addexp.problems import PRECEDENCE, space_from_config
    from addexp.text import PADDINGS

    d, t, e = cfg.data, cfg.train, cfg.eval
    _choice("model.name", cfg.model.name, sorted(MODELS))
    framing = MODELS[cfg.model.name].framing
    _at_least("seed", cfg.seed, 0)
    _at_least("data.terms", d.terms, 1)
    if d.max_terms is not None:
        _at_least("data.max_terms", d.max_terms, d.terms)
    _choice("data.operands", d.operands, ["range", "digits"])
    if d.operands == "range":
        _at_least("data.low", d.low, 0)
        _at_least("data.largest", d.largest, max(d.low, 1))
    else:
        _at_least("data.min_digits", d.min_digits, 1)
        _at_least("data.max_digits", d.max_digits, d.min_digits)
    if not d.operations:
        raise ConfigError("data.operations is empty; give a list drawn from: +, -, *, //.")
    for op in d.operations:
        _choice("data.operations", op, list(PRECEDENCE))
    if len(set(d.operations)) != len(d.operations):
        raise ConfigError(f"data.operations={list(d.operations)} repeats an operation.")
    weights = d.operation_weights
    if weights is not None and (len(weights) != len(d.operations) or min(weights) <= 0):
        raise ConfigError(
            f"data.operation_weights={list(weights)} must hold one positive "
            f"weight per operation in data.operations={list(d.operations)}."
        )
    _at_least("data.brackets", d.brackets, 0)
    _choice("data.padding", d.padding, list(PADDINGS))
    _choice("data.encoding", d.encoding, list(ENCODINGS))
    _at_least("data.embedding_dim", d.embedding_dim, 1)
    if d.padding == "none" and not d.masking:
        raise ConfigError(
            "data.padding=none leaves variable-length questions to masking; "
            "set data.masking=true or choose data.padding from: left, right, per_term."
        )
    space = space_from_config(d)
    if framing == "mapping":
        if not space.sums_only:
            raise ConfigError(
                f"model={cfg.model.name} (mapping framing) adds scaled terms; it cannot express "
                f"data.operations={list(d.operations)} or data.brackets={d.brackets}. Use "
                "data.operations=[+] data.brackets=0, or model=seq2seq."
            )
        if d.mask_loss:
            raise ConfigError("data.mask_loss applies to the seq2seq framing only; set it false.")
        if d.masking and cfg.model.name == "mlp":
            raise ConfigError(
                "data.masking=true needs a recurrent model; model=mlp sees every term. "
                "Use model=mapping_lstm or data.masking=false."
            )
    _at_least("train.epochs", t.epochs, 1)
    _at_least("train.batch_size", t.batch_size, 1)
    _at_least("train.examples", t.examples, 1)
    _at_least("train.learning_rate", t.learning_rate, 0.0)
    if t.learning_rate == 0:
        raise ConfigError("train.learning_rate=0 is out of range; it must be > 0.")
    _choice("train.optimizer", t.optimizer, sorted(OPTIMIZERS))
    _choice("train.regime", t.regime, ["fresh", "fixed"])
    _choice("train.distinct", t.distinct, ["ordered", "unordered"])
    _choice("train.progress", t.progress, list(MODES))
    if not 0.0 <= t.val_fraction < 1.0:
        raise ConfigError(f"train.val_fraction={t.val_fraction} is out of range; use [0, 1).")
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
    _at_least("train.threads", t.threads, 0)
    _at_least("eval.examples", e.examples, 1)
    _at_least("eval.show", e.show, 0)
    _choice("eval.objective", e.objective, sorted(OBJECTIVES))
    if e.objective.startswith("val/") and not (t.regime == "fixed" and t.val_fraction > 0):
        raise ConfigError(
            f"eval.objective={e.objective} needs a validation split: set train.regime=fixed "
            "and train.val_fraction > 0, or use a test/ objective."
        )
    if e.disjoint and space.size() < 10 * e.examples:
        raise ConfigError(
            f"eval.disjoint=true needs a problem space of at least 10 x eval.examples "
            f"({10 * e.examples}); this one holds about {space.size()}. Widen the data or set "
            "eval.disjoint=false (test/train_overlap reports the overlap)."
        )
    for key in ("encoder_units", "decoder_units", "units"):
        for units in cfg.model.get(key) or []:
            _at_least(f"model.{key}", units, 1)
        if key in cfg.model and len(cfg.model[key]) == 0:
            raise ConfigError(f"model.{key} is empty; give at least one layer size, e.g. [50].")
