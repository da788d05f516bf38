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


class ConfigError(ValueError):
    """A user's configuration mistake: reported as one paragraph, without a traceback."""


@dataclass
class DataConfig:
    """The problem: which expressions are sampled, how they are written and encoded."""

    terms: int = 2  # operands per expression (the fewest, when max_terms is set)
    max_terms: int | None = None  # most operands; null = exactly `terms`
    operands: str = "range"  # "range": uniform in [low, largest]; "digits": digit count first
    low: int = 1  # smallest operand ("range")
    largest: int = 10  # largest operand ("range")
    min_digits: int = 1  # fewest digits of an operand ("digits")
    max_digits: int = 3  # most digits of an operand ("digits")
    operations: list[str] = field(default_factory=lambda: ["+"])  # from +, -, *, //
    operation_weights: list[float] | None = None  # mix of `operations`; null = uniform
    brackets: int = 0  # deepest bracket nesting of random expression trees; 0 = none
    padding: str = "left"  # "left" (tutorial), "right" (Keras), "per_term", "none" (masked)
    reverse_input: bool = False  # feed the padded question backwards (Keras example)
    reverse_output: bool = False  # answer least-significant digit first
    encoding: str = "onehot"  # "onehot", "integer" (one scaled scalar per step), "embedding"
    embedding_dim: int = 16  # size of the learned embedding ("embedding")
    masking: bool = False  # hide padding steps from the encoder
    mask_loss: bool = False  # drop answer padding beyond the terminating pad from the loss


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
    disjoint: bool = False  # keep every test question out of training (needs a large space)
    objective: str = "test/exact_match"  # returned to sweepers (Optuna maximises it)


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


OBJECTIVES = {
    "test/exact_match",
    "test/char_accuracy",
    "val/exact_match",
    "val/accuracy",
}
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adamw": "AdamW"}
