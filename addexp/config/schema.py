"""Typed config schemas, checked by Hydra at composition (wrong keys and types fail there).

The dataclasses are registered in Hydra's ConfigStore; the YAML files extend them through their
defaults lists. Ranges and combinations are checked afterwards by `addexp.cli.entry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any, get_type_hints

from omegaconf import MISSING


@dataclass
class DataConfig:
    """The problem space: which expressions are sampled (operands, terms, operations)."""

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


@dataclass
class FormatConfig:
    """How a problem is written as characters."""

    name: str = "plain"  # the question as typed ("7+10") and its answer ("17")
    padding: str = "left"  # "left" (tutorial), "right" (Keras), "per_term", "none" (masked)
    reverse_input: bool = False  # feed the padded question backwards (Keras example)
    reverse_output: bool = False  # answer least-significant digit first
    position_hints: int = 0  # N > 0: tag each digit with one of N place hints (addexp.text.hints)


@dataclass
class EncodingConfig:
    """How characters become model inputs."""

    name: str = "onehot"  # "onehot", "integer" (one scaled scalar per step), "embedding"
    masking: bool = False  # hide padding steps from the encoder


def _eval_set_config() -> type:
    """`EvalSetConfig`: `examples`, a copy of every `DataConfig` field as `T | None = None`
    (null = as trained), then the relative keys, in that order."""
    hints = get_type_hints(DataConfig)
    problem_keys = [(f.name, hints[f.name] | None, field(default=None)) for f in fields(DataConfig)]
    return make_dataclass(
        "EvalSetConfig",
        [
            ("examples", int | None, field(default=None)),
            *problem_keys,
            ("digits", int | None, field(default=None)),
            ("digits_scale", float | None, field(default=None)),
            ("extra_terms", int | None, field(default=None)),
        ],
        namespace={
            "__module__": __name__,
            "__doc__": """An evaluation set: the training space with some problem keys changed
    (null = as trained), plus two relative keys for ready-made length and term-count sets.

    examples: problems drawn; null = eval.examples.
    terms ... brackets: the `DataConfig` keys; null = as trained.
    digits: every operand has exactly this many digits (no leading zero).
    digits_scale: exactly round(scale x the training's widest operand) digits.
    extra_terms: this many more terms than trained (terms and max_terms).""",
        },
    )


EvalSetConfig = _eval_set_config()


@dataclass
class EarlyStoppingConfig:
    """Stop when a per-epoch metric stops improving (Keras EarlyStopping)."""

    monitor: str | None = None  # e.g. val/exact_match or train/loss; null = off
    patience: int = 5  # epochs without improvement before stopping
    min_delta: float = 0.0  # smallest change that counts as improvement
    restore_best_weights: bool = True  # end with the best epoch's weights


@dataclass
class CurriculumConfig:
    """A curriculum over operand length (Zaremba & Sutskever 2014, "Learning to Execute",
    section 4; `addexp.training.curriculum`): which lengths each epoch's examples have."""

    name: str = "none"  # none | naive | mix | combined (data.operands=digits)
    start: int | None = None  # naive's first operand length; null = data.min_digits
    step: int = 1  # digits the length grows by each time the monitor passes the threshold
    monitor: str = "curriculum/exact_match"  # per-epoch metric the threshold applies to
    threshold: float = 0.9  # the length grows after an epoch whose monitor is >= this, (0, 1]
    probe: int = 500  # problems at the current length scored each epoch: curriculum/exact_match
    mix_fraction: float = 0.2  # combined: share of examples drawn as mix draws them


@dataclass
class TrainConfig:
    """How the model is fitted."""

    epochs: int = 30  # passes over the training data ("fresh": each over a new draw)
    batch_size: int = 10  # examples per gradient step
    optimizer: str = "adam"  # adam | adamw | rmsprop | sgd
    learning_rate: float = 0.001  # the optimizer's step size (Keras' Adam default)
    regime: str = "fresh"  # "fresh": new draw every epoch; "fixed": one set of distinct examples
    examples: int = 1000  # per epoch ("fresh") or in the whole set, validation included ("fixed")
    val_fraction: float = 0.1  # share of the fixed set held out for validation
    distinct: str = "ordered"  # fixed set: "ordered" (a+b != b+a) or "unordered" (counted once)
    threads: int = 0  # TensorFlow intra/inter-op threads per process; 0 = TensorFlow's choice
    verbose: int = 0  # Keras fit output: 0 silent, 1 bar, 2 one line per epoch
    mask_loss: bool = False  # leave answer padding beyond the terminating pad out of the loss
    clipnorm: float = 0.0  # clip each gradient to this norm; 0 = no clipping
    schedule: str = "none"  # learning rate per epoch: none | cosine | exponential
    warmup_epochs: int = 0  # linear warm-up to learning_rate over this many epochs
    decay_rate: float = 0.9  # exponential: factor per epoch
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    progress: str = "auto"  # progress over epochs: auto, bar, lines, off (addexp.training.progress)
    checkpoint_every: int = 1  # log the checkpoint to the run every N epochs; 0 = when it stops
    resume: str | None = None  # run id: continue that run's checkpoint in a new run
    jit_compile: bool = False  # compile the training step with XLA (Keras compile's jit_compile)
    steps_per_execution: int = 0  # batches per call of the training step; 0: ~512 examples' worth
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)


@dataclass
class EvalConfig:
    """The held-out test set (always a fresh draw, never the training data) and evaluation
    sets beyond the training distribution."""

    examples: int = 1000  # problems in the test set
    show: int = 20  # expected/predicted pairs printed at the end
    disjoint: bool = False  # keep every test question out of training (needs a large space)
    objective: str = "test/exact_match"  # returned to sweepers, ranked in its metric's direction
    sets: dict[str, Any] = field(default_factory=dict)  # more sets: name -> EvalSetConfig keys


@dataclass
class TrackingConfig:
    """Where MLflow writes. MLflow's own variables are the defaults of the store and the
    experiment (`addexp.tracking.environment`)."""

    uri: str | None = "${oc.env:MLFLOW_TRACKING_URI,null}"  # null: SQLite mlflow.db, launch folder
    experiment: str = "${oc.env:MLFLOW_EXPERIMENT_NAME,addexp}"  # the MLflow experiment
    artifact_location: str | None = None  # a new experiment's; null: mlruns/ (local), a server's
    run_name: str | None = None  # null: PRESET-seedN, else MODEL-seedN; a sweep job: its values
    log_model: bool = True  # log the model: questions as text in, answers out (MLflow pyfunc)
    register: str | None = None  # register the model as NAME (a sweep: its best, alias champion)
    system_metrics: bool = False  # MLflow's system metrics (CPU, memory, disk, network)


@dataclass
class AddexpConfig:
    """The whole run. `model` is typed by the schema its own group option extends."""

    seed: int = 1  # seeds Python, NumPy and TensorFlow; data streams derive from it
    data: DataConfig = field(default_factory=DataConfig)
    format: FormatConfig = field(default_factory=FormatConfig)
    encoding: EncodingConfig = field(default_factory=EncodingConfig)
    model: Any = MISSING  # the network: the keys of the family model=NAME chooses
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


def typed_set(name: str, raw: Any) -> Any:
    """An evaluation set's keys checked against `EvalSetConfig` (sets are an untyped mapping
    in the schema so that `+eval.sets.NAME={...}` works from the command line). Raises
    ValueError naming the set and the keys it takes."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.merge(OmegaConf.structured(EvalSetConfig), raw)
    except OmegaConfBaseException as error:
        keys = ", ".join(f.name for f in fields(EvalSetConfig))
        reason = str(error).splitlines()[0]
        raise ValueError(f"eval.sets.{name}: {reason}; a set takes: {keys}.") from None


RESERVED_SET_NAMES = ("test", "val", "train", "breakdown", "predictions", "config", "model")
# Keys a resumed run may set differently from the run it resumes (none changes what is trained
# or how it is scored); an entry ending in "." stands for every key under it.
RESUME_FREE_KEYS = (
    "train.epochs",
    "train.resume",
    "train.checkpoint_every",
    "train.verbose",
    "eval.show",
    "tracking.",
)
# train.optimizer -> Keras optimizer class name.
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adamw": "AdamW"}


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> {"data.terms": "2", ...}; lists stay whole ("[100]") as one param."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = "null" if value is None else str(value)
    return flat
