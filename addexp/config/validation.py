"""The checks Hydra's types cannot do: ranges and combinations, before anything is trained.

`validate` raises `ConfigError` with one paragraph that names the key and what it may be. It
imports no TensorFlow, so a mistake is reported as fast as Hydra composes the config.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from omegaconf import DictConfig

from addexp.config.schema import OPTIMIZERS, RESERVED_SET_NAMES, SET_METRICS, VAL_METRICS, typed_set
from addexp.training.progress import MODES


class ConfigError(ValueError):
    """A user's configuration mistake: reported as one paragraph, without a traceback."""


MAX_DIGITS = 1000  # widest operand (decimal digits) a run may draw
MAPPING_LARGEST = 2**53  # the mapping framing regresses floats: sums beyond this are not exact


def _choice(key: str, value: Any, allowed: list[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of: {', '.join(allowed)}.")


def _at_least(key: str, value: int | float, low: int | float) -> None:
    if value < low:
        raise ConfigError(f"{key}={value} is out of range; it must be >= {low}.")


def _at_most(key: str, value: int | float, high: int | float, why: str) -> None:
    if value > high:
        raise ConfigError(f"{key}={value} is out of range; it must be <= {high} ({why}).")


def _check_problem(prefix: str, d: Any) -> None:
    """The problem keys of `data` (or an evaluation set's merged view of them)."""
    from addexp.problems.operations import OPERATIONS

    _at_least(f"{prefix}terms", d["terms"], 1)
    if d["max_terms"] is not None:
        _at_least(f"{prefix}max_terms", d["max_terms"], d["terms"])
    _choice(f"{prefix}operands", d["operands"], ["range", "digits"])
    if d["operands"] == "range":
        _at_least(f"{prefix}low", d["low"], 0)
        _at_least(f"{prefix}largest", d["largest"], max(d["low"], 1))
        _at_most(f"{prefix}largest", d["largest"], 10**MAX_DIGITS - 1, f"{MAX_DIGITS} digits")
    else:
        _at_least(f"{prefix}min_digits", d["min_digits"], 1)
        _at_least(f"{prefix}max_digits", d["max_digits"], d["min_digits"])
        _at_most(f"{prefix}max_digits", d["max_digits"], MAX_DIGITS, "the widest operand")
    if not d["operations"]:
        raise ConfigError(
            f"{prefix}operations is empty; give a list drawn from: {', '.join(OPERATIONS)}."
        )
    for op in d["operations"]:
        _choice(f"{prefix}operations", op, list(OPERATIONS))
    if len(set(d["operations"])) != len(d["operations"]):
        raise ConfigError(f"{prefix}operations={list(d['operations'])} repeats an operation.")
    weights = d["operation_weights"]
    if weights is not None and (len(weights) != len(d["operations"]) or min(weights) <= 0):
        raise ConfigError(
            f"{prefix}operation_weights={list(weights)} must hold one positive "
            f"weight per operation in {prefix}operations={list(d['operations'])}."
        )
    _at_least(f"{prefix}brackets", d["brackets"], 0)


def _check_model_keys(cfg: DictConfig, family: Any) -> None:
    """`model` must hold exactly its family's keys (`model.name=mlp` on the seq2seq group
    would otherwise fail deep inside a run)."""
    expected = {f.name for f in dataclasses.fields(family.schema)}
    present = set(cfg.model.keys())
    if present != expected:
        raise ConfigError(
            f"model.name={cfg.model.name} does not match the model keys given "
            f"({', '.join(sorted(present - {'name'}))}); the family {family.name} takes "
            f"{', '.join(sorted(expected - {'name'}))}. Choose a family with the config group "
            f"(model={cfg.model.name}), not by setting model.name."
        )


# MLflow's limits (mlflow.utils.validation), checked here so that nothing is refused or cut
# after a run opened: param keys and metric keys, param values, experiment and run names.
MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH, MAX_NAME_LENGTH = 250, 6000, 500


def _check_tracking_limits(cfg: DictConfig) -> None:
    """Every value MLflow will be given fits MLflow's limits (a set's name is in param keys that
    are longer than its metric keys, so checking params covers both)."""
    from omegaconf import OmegaConf

    from addexp.config.schema import flatten

    sections = {
        key: OmegaConf.to_container(cfg[key], resolve=True)
        if OmegaConf.is_config(cfg[key])
        else cfg[key]
        for key in cfg
        if key != "hydra"  # Hydra's own node, present when a test composes it, is not logged
    }
    params = flatten(sections)
    for key, value in params.items():
        if len(key) > MAX_KEY_LENGTH - len("derived."):
            raise ConfigError(
                f"{key[:60]}... is a key of {len(key)} characters; MLflow takes param keys of "
                f"at most {MAX_KEY_LENGTH}."
            )
        if len(value) > MAX_PARAM_VALUE_LENGTH:
            raise ConfigError(
                f"{key} holds {len(value)} characters; MLflow keeps param values of at most "
                f"{MAX_PARAM_VALUE_LENGTH} (shorten it)."
            )
    for key in ("tracking.experiment", "tracking.run_name"):
        value = params.get(key, "null")
        if len(value) > MAX_NAME_LENGTH:
            raise ConfigError(
                f"{key} has {len(value)} characters; MLflow takes at most {MAX_NAME_LENGTH}."
            )


def validate(cfg: DictConfig) -> None:
    """Check ranges and combinations that types cannot express; raise ConfigError on the first.
    Interpolations must resolve first (`addexp.config.interpolation.resolved`)."""
    from addexp.framing.encoding import ENCODINGS
    from addexp.models import FAMILIES  # the registry decides which model names exist
    from addexp.problems.space import space_from_config
    from addexp.text.formats import PADDINGS

    d = cfg.data
    _choice("model.name", cfg.model.name, sorted(FAMILIES))
    family = FAMILIES[cfg.model.name]
    _check_model_keys(cfg, family)
    _at_least("seed", cfg.seed, 0)
    _check_problem("data.", d)
    _choice("format.name", cfg.format.name, ["plain", "aligned"])
    _choice("format.padding", cfg.format.padding, list(PADDINGS))
    _choice("encoding.name", cfg.encoding.name, list(ENCODINGS))
    if "embedding_dim" in cfg.model:
        _at_least("model.embedding_dim", cfg.model.embedding_dim, 1)
    if "unroll_max_steps" in cfg.model:
        _at_least("model.unroll_max_steps", cfg.model.unroll_max_steps, 0)
    if cfg.format.padding == "none" and not cfg.encoding.masking:
        raise ConfigError(
            "format.padding=none leaves variable-length questions to masking; "
            "set encoding.masking=true or choose format.padding from: left, right, per_term."
        )
    space = space_from_config(d)
    if family.framing == "mapping":
        _check_mapping(cfg, space)
    if family.framing == "autoregressive":
        _check_autoregressive(cfg)
    _check_aligned(cfg, family, space)
    _check_train(cfg, space)
    _check_eval(cfg, space, family)
    _check_position_hints(cfg, family, space)
    _check_tracking_limits(cfg)
    for key in ("encoder_units", "decoder_units", "units"):
        for units in cfg.model.get(key) or []:
            _at_least(f"model.{key}", units, 1)
        if key in cfg.model and len(cfg.model[key]) == 0:
            raise ConfigError(f"model.{key} is empty; give at least one layer size, e.g. [50].")


def _not_sums(cfg: DictConfig) -> str:
    """What makes a problem space more than sums, and what to set instead."""
    found, fix = [], []
    if list(cfg.data.operations) != ["+"]:
        found.append(f"data.operations={list(cfg.data.operations)}")
        fix.append("data.operations=[+]")
    if cfg.data.brackets:
        found.append(f"data.brackets={cfg.data.brackets}")
        fix.append("data.brackets=0")
    return f"{' or '.join(found)}. Use {' '.join(fix)}"


def _check_mapping(cfg: DictConfig, space: Any) -> None:
    name = cfg.model.name
    if not space.sums_only:
        raise ConfigError(
            f"model={name} (mapping framing) adds scaled terms; it cannot express "
            f"{_not_sums(cfg)}, or model=seq2seq."
        )
    if cfg.encoding.name != "onehot":
        raise ConfigError(
            f"encoding.name={cfg.encoding.name} encodes characters; model={name} reads scaled "
            "numbers. Use encoding=onehot (ignored by the mapping framing) or model=seq2seq."
        )
    if cfg.train.mask_loss:
        raise ConfigError("train.mask_loss applies to the seq2seq framing only; set it false.")
    if cfg.encoding.masking and name == "mlp":
        raise ConfigError(
            "encoding.masking=true needs a recurrent model; model=mlp sees every term. "
            "Use model=mapping_lstm or encoding.masking=false."
        )
    if space.max_terms * space.max_value >= MAPPING_LARGEST:
        key = "data.largest" if space.mode == "range" else "data.max_digits"
        raise ConfigError(
            f"{key}={cfg.data[key.split('.')[1]]} makes sums of up to "
            f"{space.max_terms * space.max_value}; model={name} regresses floats, exact only "
            "for sums below 2**53. Use smaller operands or model=seq2seq."
        )


def _check_aligned(cfg: DictConfig, family: Any, space: Any) -> None:
    """The aligned format and the tagger go together, on sums, one-hot, in their own order."""
    aligned, tagger = cfg.format.name == "aligned", family.framing == "aligned"
    if aligned != tagger:
        raise ConfigError(
            f"format={cfg.format.name} with model={cfg.model.name}: the aligned format is read "
            "by model=tagger, and model=tagger reads only format=aligned; choose both or neither."
        )
    if not aligned:
        return
    if not space.sums_only:
        raise ConfigError(
            f"format=aligned lines up place values of a sum; it cannot write {_not_sums(cfg)}."
        )
    for key in ("reverse_input", "reverse_output"):
        if cfg.format[key]:
            raise ConfigError(
                f"format.{key}=true: format=aligned is least significant place first by "
                "construction; set it false."
            )
    if cfg.encoding.name != "onehot" or cfg.encoding.masking or cfg.train.mask_loss:
        raise ConfigError(
            "format=aligned feeds one-hot digits of every place (zeros add nothing, so nothing "
            "is padding): use encoding=onehot, encoding.masking=false, train.mask_loss=false."
        )
    _check_recurrent_layers(cfg.model)


def _check_recurrent_layers(m: DictConfig) -> None:
    """The keys every recurrent family shares: its cell and dropout rates."""
    from addexp.models.recurrent import CELLS

    _choice("model.cell", m.cell, list(CELLS))
    for key in ("dropout", "recurrent_dropout"):
        if not 0.0 <= m[key] < 1.0:
            raise ConfigError(f"model.{key}={m[key]} is out of range; use [0, 1).")


def _check_autoregressive(cfg: DictConfig) -> None:
    from addexp.models.recurrent import ATTENTION

    m = cfg.model
    _check_recurrent_layers(m)
    _at_least("model.beam_width", m.beam_width, 1)
    if "attention" in m:
        _choice("model.attention", m.attention, list(ATTENTION))
    if cfg.train.mask_loss:
        raise ConfigError(
            f"train.mask_loss=true: model={m.name} always leaves the steps after the answer's "
            "end out of the loss; set it false."
        )


def _check_train(cfg: DictConfig, space: Any) -> None:
    t, e = cfg.train, cfg.eval
    _at_least("train.epochs", t.epochs, 1)
    _at_least("train.batch_size", t.batch_size, 1)
    _at_least("train.examples", t.examples, 1)
    # runs logged before checkpoints existed lack the key (addexp-eval validates their config)
    _at_least("train.checkpoint_every", t.get("checkpoint_every", 0), 0)
    _at_least("train.steps_per_execution", t.get("steps_per_execution", 0), 0)
    if t.learning_rate <= 0:
        raise ConfigError(f"train.learning_rate={t.learning_rate} is out of range; it must be > 0.")
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
    _at_least("train.clipnorm", t.clipnorm, 0.0)
    _choice("train.schedule", t.schedule, ["none", "cosine", "exponential"])
    _at_least("train.warmup_epochs", t.warmup_epochs, 0)
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
        _choice("train.early_stopping.monitor", es.monitor, allowed)
        _at_least("train.early_stopping.patience", es.patience, 0)
    if e.disjoint and space.size() < 10 * e.examples:
        raise ConfigError(
            f"eval.disjoint=true needs a problem space of at least 10 x eval.examples "
            f"({10 * e.examples}); this one holds about {space.size()}. Widen the data or set "
            "eval.disjoint=false (test/train_overlap reports the overlap)."
        )


def _check_eval(cfg: DictConfig, space: Any, family: Any) -> None:
    """The test set, the objective and every evaluation set: names, keys, and whether the
    model can read and write its questions (symbols, terms) at all."""
    from addexp.framing.framings import alphabet_for
    from addexp.problems.space import eval_set_data, eval_set_space

    e = cfg.eval
    _at_least("eval.examples", e.examples, 1)
    _at_least("eval.show", e.show, 0)
    trained = set(alphabet_for(space).symbols)
    for name, raw in e.sets.items():
        key = f"eval.sets.{name}"
        try:
            s = typed_set(name, raw)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        if not re.fullmatch(r"[A-Za-z0-9_]+", name) or name in RESERVED_SET_NAMES:
            raise ConfigError(
                f"{key}: a set's name is letters, digits and underscores, and none of "
                f"{', '.join(RESERVED_SET_NAMES)} (it prefixes the set's metrics)."
            )
        if s.examples is not None:
            _at_least(f"{key}.examples", s.examples, 1)
        if s.digits is not None:
            _at_least(f"{key}.digits", s.digits, 1)
            _at_most(f"{key}.digits", s.digits, MAX_DIGITS, "the widest operand")
        if s.digits_scale is not None:
            _at_least(f"{key}.digits_scale", s.digits_scale, 1 / space.max_operand_digits)
            _at_most(
                f"{key}.digits_scale",
                s.digits_scale * space.max_operand_digits,
                MAX_DIGITS,
                "operands of at most that many digits",
            )
        if s.digits is not None and s.digits_scale is not None:
            raise ConfigError(f"{key} sets both digits and digits_scale; keep one.")
        if s.extra_terms is not None:
            _at_least(f"{key}.extra_terms", s.extra_terms, 0)
        _check_problem(f"{key}.", eval_set_data(space, s))
        set_space = eval_set_space(space, s)
        needed = set(alphabet_for(set_space).symbols) - trained
        if needed and family.framing != "mapping":
            raise ConfigError(
                f"{key} needs the symbols {''.join(sorted(needed))!r}, which the training space "
                f"never shows (the model's alphabet is {''.join(sorted(trained))!r}); train with "
                "those operations (data.operations) or drop the set."
            )
        if family.framing in ("mapping", "aligned") and (
            set_space.max_terms > space.max_terms or not set_space.sums_only
        ):
            raise ConfigError(
                f"{key}: model={cfg.model.name} reads at most {space.max_terms} terms of a sum "
                "(one input slot each); it cannot represent more terms or other operations. "
                "Use model=seq2seq or drop the set."
            )
    split = e.objective.partition("/")[0]
    splits = ["test", "val", *sorted(e.sets)]
    _choice("eval.objective (its set)", split, splits)
    if split == "val":
        _choice("eval.objective", e.objective, [f"val/{m}" for m in VAL_METRICS])
        if not (cfg.train.regime == "fixed" and cfg.train.val_fraction > 0):
            raise ConfigError(
                f"eval.objective={e.objective} needs a validation split: set train.regime=fixed "
                "and train.val_fraction > 0, or use a test/ objective."
            )
    else:
        _choice(
            "eval.objective (a metric that is better higher)",
            e.objective,
            [f"{split}/{m}" for m in SET_METRICS],
        )


def _check_position_hints(cfg: DictConfig, family: Any, space: Any) -> None:
    """Position hints tag the plain format's digits for the families that read characters, as
    extra features of each step (so not for an embedding's indices); a decoder that reads its
    own answers tags the place each step writes, which needs the answer least significant digit
    first; and every question of training and of every evaluation set must fit the hint range.
    A config logged before the key existed has none."""
    from addexp.framing.layouts import widest_row_spaces
    from addexp.text.formats import answer_width
    from addexp.text.hints import places_needed
    from addexp.training.pipeline import eval_sets

    hints = cfg.format.get("position_hints", 0)
    _at_least("format.position_hints", hints, 0)
    if not hints:
        return
    key = f"format.position_hints={hints}"
    if cfg.format.name != "plain" or family.framing not in ("seq2seq", "autoregressive"):
        why = {"aligned": "its steps already line up place values"}.get(
            family.framing, "it reads scaled numbers, not characters"
        )
        raise ConfigError(
            f"{key} tags the digits of format=plain questions for model=seq2seq, "
            f"teacher_forcing or attention; format={cfg.format.name} with "
            f"model={cfg.model.name} takes none ({why}). Set format.position_hints=0, or use "
            "format=plain with one of those models."
        )
    if cfg.encoding.name not in ("onehot", "integer"):
        raise ConfigError(
            f"{key} appends one-hot hints to each question step's features; "
            f"encoding={cfg.encoding.name} feeds symbol indices, with no room for them. Use "
            "encoding=onehot or encoding=integer, or set format.position_hints=0."
        )
    tags_answer = family.framing == "autoregressive"
    if tags_answer and not cfg.format.reverse_output:
        raise ConfigError(
            f"{key} with model={cfg.model.name} gives answer step t the hint of place t, which "
            "needs the answer written least significant digit first: set "
            "format.reverse_output=true, or format.position_hints=0."
        )
    sets = [("the training space (data)", space)]
    sets += [(f"eval.sets.{s.name}", s.space) for s in eval_sets(cfg, space)]
    needs = []
    for name, set_space in sets:
        width = max(answer_width(r) for r in [space, *widest_row_spaces(set_space, space)])
        digits = set_space.max_operand_digits
        needs.append((places_needed(digits, width + 1 if tags_answer else 0), name, digits, width))
    most = max(n for n, *_ in needs)
    short = [(n, name, digits, width) for n, name, digits, width in needs if n > hints]
    if short:  # the first set too long, and what every set together needs
        needed, name, digits, width = short[0]
        answers = f"; answers of up to {width} characters, then END" if tags_answer else ""
        others = f" (as do {len(short) - 1} more sets)" if len(short) > 1 else ""
        raise ConfigError(
            f"{name} needs up to {needed} position hints (operands of up to {digits} "
            f"digits{answers}), more than {key} gives{others}; raise format.position_hints to "
            f"at least {most}, which every set fits"
            + (", or drop the sets that need more." if name.startswith("eval.") else ".")
        )
