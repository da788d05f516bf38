"""The checks of the `eval` section: the test set, the evaluation sets (names, keys, whether the
model can read their questions) and the objective a sweep optimises."""

from __future__ import annotations

import re
from typing import Any

from addexp.config.checks import ConfigError, at_least, at_most, choice
from addexp.config.schema import RESERVED_SET_NAMES, typed_set
from addexp.evaluation.metrics import objectives
from addexp.framing.base import alphabet_for
from addexp.framing.framings import FRAMINGS
from addexp.problems.checks import MAX_DIGITS, check_problem
from addexp.problems.sets import eval_set_data, eval_set_space
from addexp.problems.space import ProblemSpace


def check_eval(cfg: Any, space: ProblemSpace, family: Any) -> None:
    """The test set, the objective and every evaluation set: names, keys, and whether the
    model can read and write its questions (symbols, terms) at all. Raises ConfigError."""
    e = cfg.eval
    at_least("eval.examples", e.examples, 1)
    at_least("eval.show", e.show, 0)
    for name, raw in e.sets.items():
        try:
            s = typed_set(name, raw)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        _check_set_keys(name, s, space)
        _check_readable(f"eval.sets.{name}", eval_set_space(space, s), space, family)
    if e.disjoint and space.size() < 10 * e.examples:
        raise ConfigError(
            f"eval.disjoint=true needs a problem space of at least 10 x eval.examples "
            f"({10 * e.examples}); this one holds about {space.size()}. Widen the data or set "
            "eval.disjoint=false (test/train_overlap reports the overlap)."
        )
    _check_objective(cfg)


def _check_set_keys(name: str, s: Any, space: ProblemSpace) -> None:
    """An evaluation set's name, its own keys (examples, digits, digits_scale, extra_terms)
    and the problem keys it gives the training space."""
    key = f"eval.sets.{name}"
    if not re.fullmatch(r"[A-Za-z0-9_]+", name) or name in RESERVED_SET_NAMES:
        raise ConfigError(
            f"{key}: a set's name is letters, digits and underscores, and none of "
            f"{', '.join(RESERVED_SET_NAMES)} (it prefixes the set's metrics)."
        )
    if s.examples is not None:
        at_least(f"{key}.examples", s.examples, 1)
    if s.digits is not None:
        at_least(f"{key}.digits", s.digits, 1)
        at_most(f"{key}.digits", s.digits, MAX_DIGITS, "the widest operand")
    if s.digits_scale is not None:
        at_least(f"{key}.digits_scale", s.digits_scale, 1 / space.max_operand_digits)
        at_most(
            f"{key}.digits_scale",
            s.digits_scale * space.max_operand_digits,
            MAX_DIGITS,
            "operands of at most that many digits",
        )
    if s.digits is not None and s.digits_scale is not None:
        raise ConfigError(f"{key} sets both digits and digits_scale; keep one.")
    if s.extra_terms is not None:
        at_least(f"{key}.extra_terms", s.extra_terms, 0)
    check_problem(f"{key}.", eval_set_data(space, s))


def _check_readable(key: str, set_space: ProblemSpace, space: ProblemSpace, family: Any) -> None:
    """Whether a model trained on `space` can read the questions of `set_space` at all: the
    symbols of its alphabet (where the framing's alphabet is the training space's) and the
    terms of its fixed input slots."""
    framing = FRAMINGS[family.framing]
    trained = set(alphabet_for(space).symbols)
    needed = set(alphabet_for(set_space).symbols) - trained
    if needed and framing.alphabet_bound:
        raise ConfigError(
            f"{key} needs the symbols {''.join(sorted(needed))!r}, which the training space "
            f"never shows (the model's alphabet is {''.join(sorted(trained))!r}); train with "
            "those operations (data.operations) or drop the set."
        )
    if framing.fixed_terms and (set_space.max_terms > space.max_terms or not set_space.sums_only):
        raise ConfigError(
            f"{key}: model={family.name} reads at most {space.max_terms} terms of a sum "
            "(one input slot each); it cannot represent more terms or other operations. "
            "Use a family that reads any number of terms or drop the set."
        )


def _check_objective(cfg: Any) -> None:
    """`eval.objective`: a metric a sweep can rank, of the test set, the validation split (which
    the training must then hold out) or an evaluation set."""
    e = cfg.eval
    split = e.objective.partition("/")[0]
    splits = ["test", "val", *sorted(e.sets)]
    choice("eval.objective (its set)", split, splits)
    if split == "val":
        choice("eval.objective", e.objective, objectives("val"))
        if not (cfg.train.regime == "fixed" and cfg.train.val_fraction > 0):
            raise ConfigError(
                f"eval.objective={e.objective} needs a validation split: set train.regime=fixed "
                "and train.val_fraction > 0, or use a test/ objective."
            )
    else:
        choice("eval.objective (a metric a sweep can rank)", e.objective, objectives(split))
