"""Typed config schemas (checked by Hydra at composition) and the semantic checks Hydra cannot do.

Types are enforced by the dataclasses registered in Hydra's ConfigStore; `validate` then checks
ranges and combinations before anything is trained or logged, raising `ConfigError` with a message
that names the key and what it may be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig

INT64_DIGITS = 18  # widest decimal integer that int64 holds for every value of that width


class ConfigError(ValueError):
    """A user's configuration mistake: reported as one paragraph, without a traceback."""


@dataclass
class DataConfig:
    """The problem: which expressions are sampled and how they are written as text."""

    terms: int = 2  # operands per expression
    operands: str = "range"  # "range": uniform in [low, largest]; "digits": digit count first
    low: int = 1  # smallest operand ("range")
    largest: int = 10  # largest operand ("range")
    min_digits: int = 1  # fewest digits of an operand ("digits")
    max_digits: int = 3  # most digits of an operand ("digits")
    padding: str = "left"  # where the pad symbol goes: "left" (tutorial) or "right" (Keras)
    reverse_input: bool = False  # feed the padded question backwards (Keras example)


@dataclass
class TrainConfig:
    """How the model is fitted."""

    epochs: int = 30
    batch_size: int = 10
    optimizer: str = "adam"
    learning_rate: float = 0.001
    regime: str = "fresh"  # "fresh": new draw every epoch; "fixed": one set of distinct examples
    examples: int = 1000  # per epoch ("fresh") or in the whole set, validation included ("fixed")
    val_fraction: float = 0.1  # share of the fixed set held out for validation
    distinct: str = "ordered"  # fixed set: "ordered" (a+b != b+a) or "unordered" (counted once)
    threads: int = 0  # TensorFlow intra/inter-op threads per process; 0 = TensorFlow's choice
    verbose: int = 0  # Keras fit verbosity


@dataclass
class EvalConfig:
    """The held-out test set: always a fresh draw, never the training data."""

    examples: int = 1000
    show: int = 20  # expected/predicted pairs printed at the end


@dataclass
class TrackingConfig:
    """Where MLflow writes. Null uri/artifact_location: SQLite + mlruns/ in the launch folder."""

    uri: str | None = None
    experiment: str = "addexp"
    artifact_location: str | None = None
    run_name: str | None = None
    log_model: bool = True


@dataclass
class Seq2SeqModelConfig:
    """Encoder-decoder: LSTM encoder layers, RepeatVector, LSTM decoder layers, softmax per step."""

    name: str = "seq2seq"
    encoder_units: list[int] = field(default_factory=lambda: [100])
    decoder_units: list[int] = field(default_factory=lambda: [50])


@dataclass
class MappingLSTMConfig:
    """Stacked LSTM regressing the scaled sum from the scaled terms (the beginner's mistake)."""

    name: str = "mapping_lstm"
    units: list[int] = field(default_factory=lambda: [6, 2])


@dataclass
class MLPConfig:
    """Dense layers regressing the scaled sum from the scaled terms."""

    name: str = "mlp"
    units: list[int] = field(default_factory=lambda: [4, 2])
    activation: str = "linear"


@dataclass
class AddexpConfig:
    """The whole run. `model` is typed by the schema its own group option extends."""

    seed: int = 1
    data: DataConfig = field(default_factory=DataConfig)
    model: Any = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


MODEL_SCHEMAS = {"seq2seq": Seq2SeqModelConfig, "mapping_lstm": MappingLSTMConfig, "mlp": MLPConfig}


def register_schemas() -> None:
    """Register the schemas; YAML files extend them through their defaults lists."""
    cs = ConfigStore.instance()
    cs.store(name="addexp_schema", node=AddexpConfig)
    for name, schema in MODEL_SCHEMAS.items():
        cs.store(group="schema/model", name=name, node=schema)


def _choice(key: str, value: Any, allowed: list[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of: {', '.join(allowed)}.")


def _at_least(key: str, value: int | float, low: int | float) -> None:
    if value < low:
        raise ConfigError(f"{key}={value} is out of range; it must be >= {low}.")


def validate(cfg: DictConfig) -> None:
    """Check ranges and combinations that types cannot express; raise ConfigError on the first."""
    from addexp.models import MODELS  # the registry decides which model names exist

    d, t, e = cfg.data, cfg.train, cfg.eval
    _choice("model.name", cfg.model.name, sorted(MODELS))
    _at_least("seed", cfg.seed, 0)
    _at_least("data.terms", d.terms, 1)
    _choice("data.operands", d.operands, ["range", "digits"])
    if d.operands == "range":
        _at_least("data.low", d.low, 0)
        _at_least("data.largest", d.largest, max(d.low, 1))
    else:
        _at_least("data.min_digits", d.min_digits, 1)
        _at_least("data.max_digits", d.max_digits, d.min_digits)
    _choice("data.padding", d.padding, ["left", "right"])
    largest = d.largest if d.operands == "range" else 10**d.max_digits - 1
    if len(str(largest * d.terms)) > INT64_DIGITS:
        raise ConfigError(
            f"data.terms={d.terms} with operands up to {largest} gives sums wider than "
            f"{INT64_DIGITS} digits; lower data.largest, data.max_digits or data.terms."
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
    if not 0.0 <= t.val_fraction < 1.0:
        raise ConfigError(f"train.val_fraction={t.val_fraction} is out of range; use [0, 1).")
    if t.regime == "fixed" and t.val_fraction > 0 and int(t.examples * t.val_fraction) < 1:
        raise ConfigError(
            f"train.val_fraction={t.val_fraction} of train.examples={t.examples} holds out no "
            "example; raise either, or set train.val_fraction=0."
        )
    if t.regime == "fixed":
        from addexp.problems import space_from_config

        available = space_from_config(d).size(unordered=t.distinct == "unordered")
        if t.examples > available:
            raise ConfigError(
                f"train.examples={t.examples} asks for more distinct problems than the data "
                f"space holds ({available} with train.distinct={t.distinct}); lower "
                "train.examples, widen the data range, or use train.regime=fresh."
            )
    _at_least("train.threads", t.threads, 0)
    _at_least("eval.examples", e.examples, 1)
    _at_least("eval.show", e.show, 0)
    for key in ("encoder_units", "decoder_units", "units"):
        for units in cfg.model.get(key) or []:
            _at_least(f"model.{key}", units, 1)
        if key in cfg.model and len(cfg.model[key]) == 0:
            raise ConfigError(f"model.{key} is empty; give at least one layer size, e.g. [50].")


OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adamw": "AdamW"}
