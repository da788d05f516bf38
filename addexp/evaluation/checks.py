"""The checks of the `eval` section: the test set, the evaluation sets (names, keys, whether the
model can read their questions) and the objective a sweep optimises."""

from __future__ import annotations

import re
from typing import Any

from addexp.config.checks import ConfigError, at_least, at_most, choice
from addexp.config.schema import RESERVED_SET_NAMES, typed_set
from addexp.evaluation.metrics import objectives
from addexp.framing.framings import make_framing
from addexp.framing.layouts import per_row
from addexp.framing.reach import KINDS, hints_needed, refusal, space_demands, worst
from addexp.models import bind
from addexp.models.compatibility import offered
from addexp.problems.checks import MAX_DIGITS, check_problem
from addexp.problems.sets import eval_set_data, eval_sets
from addexp.problems.space import ProblemSpace

TRAINING = "the training space (data)"  # how messages name the training space


def check_eval(cfg: Any, space: ProblemSpace, family: Any) -> None:
    """The test set, the objective and every evaluation set: names, keys, and whether the
    run can read and write its questions (`check_readable`). Raises ConfigError."""
    e = cfg.eval
    at_least("eval.examples", e.examples, 1)
    at_least("eval.show", e.show, 0)
    for name, raw in e.sets.items():
        try:
            s = typed_set(name, raw)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        _check_set_keys(name, s, space)
    named = {f"eval.sets.{s.name}": s.space for s in eval_sets(cfg, space)}
    framing = make_framing(cfg, family, space, list(named.values()))
    family = bind(family, cfg.model)
    check_readable(framing, family, {TRAINING: space, **named})
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


def check_readable(
    framing: Any, family: Any, spaces: dict[str, ProblemSpace], trained: bool = False
) -> None:
    """Whether `framing`'s layouts read every question of every space (`spaces`: a name for
    messages -> its space; `addexp.framing.reach`). Raises ConfigError naming the set whose
    refusal comes first (kind, then set order), with the remedy: at config time (a run to be
    trained) or, with `trained`, for the fixed layout of a trained run (`addexp-eval`)."""
    pairs = {n: space_demands(framing, s, family.any_length) for n, s in spaces.items()}
    found = {n: worst([refusal(*p, family) for p in ps]) for n, ps in pairs.items()}
    refused = [(n, r) for n, r in found.items() if r is not None]
    if not refused:
        return
    name, first = min(refused, key=lambda item: KINDS.index(item[1].kind))
    alike = [n for n, r in refused if r.kind == first.kind]
    more = len(alike) - 1
    others = f" (as do {more} more sets)" if more > 1 else " (as does 1 more set)" * more
    remedy = {
        "symbols": "train with those operations (data.operations), or drop the set.",
        "terms": f"use {offered(lambda _, k: k.input_slots is None)}, or drop the set.",
        "operations": f"use {offered(lambda _, k: not k.sums_only)}, or drop the set.",
        "model": "" if name == TRAINING else "or drop the set.",
    }.get(first.kind)
    if first.kind in ("question_width", "answer_width"):
        remedy = _width_remedy(framing, family, spaces[name])
    if first.kind == "position_hints":
        remedy = _hints_remedy(pairs, name, trained)
    joined = ", " if first.kind == "model" else "; "  # the model's clause names its remedy
    raise ConfigError(f"{name} {first.clause}{others}" + (f"{joined}{remedy}" if remedy else "."))


def _width_remedy(framing: Any, family: Any, space: ProblemSpace) -> str:
    """What to do about questions or answers of `space` wider than the layout."""
    if not per_row(framing, family.any_length):
        return (
            f"model={family.name} reads only the fixed layout it was trained with: drop the set, "
            "or train with it."
        )
    trained = framing.space  # each question is laid out from its operations and brackets
    key = (
        f"data.brackets={space.brackets}"
        if space.brackets > trained.brackets
        else f"data.operations=[{','.join(space.operations)}]"
    )
    return (
        "each question is laid out from the training space's operations and brackets: train "
        f"with {key}, or drop the set."
    )


def _hints_remedy(pairs: dict[str, list], name: str, trained: bool) -> str:
    """What to do about sets that need more position hints than the run has (`name` first)."""
    if trained:
        return "the run's position hints are fixed by training: drop the set."
    most = max(hints_needed(*p) for ps in pairs.values() for p in ps)
    drop = ", or drop the sets that need more." if name.startswith("eval.") else "."
    return f"raise format.position_hints to at least {most}, which every set fits{drop}"


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
