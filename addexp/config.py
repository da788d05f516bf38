"""Typed config schemas, checked by Hydra at composition (wrong keys and types fail there).

The dataclasses are registered in Hydra's ConfigStore; the YAML files extend them through their
defaults lists. Ranges and combinations are checked afterwards by `addexp.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


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
    progress: str = "auto"  # progress over epochs: auto, bar, lines, off (addexp.progress)


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
    system_metrics: bool = False  # MLflow's system metrics (CPU, memory, disk, network)


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
    for name, schema in MODEL_SCHEMAS.items():  # outside any group: not a choice to offer
        cs.store(name=f"model_schema_{name}", node=schema)


# What a run may return to a sweeper (eval.objective).
OBJECTIVES = {
    "test/exact_match",
    "test/char_accuracy",
    "val/exact_match",
    "val/accuracy",
}
# train.optimizer -> Keras optimizer class name.
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adamw": "AdamW"}
