"""Evaluation sets: named problem spaces beyond (or inside) the training distribution, each
drawn from a stream of its own; a set's space is the training space with its keys applied."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from addexp.config.schema import typed_set
from addexp.problems.space import PROBLEM_KEYS, ProblemSpace, space_from_config, space_to_config

EVAL_STREAM = 2  # the seed stream of evaluation sets (addexp.training.pipeline names the others)


def eval_set_data(train: ProblemSpace, set_cfg: Any) -> dict[str, Any]:
    """The `data` keys of an evaluation set before its relative keys: the training space's,
    with the set's problem keys changed (null keys stay as trained; a set that changes
    `operations` or `terms` alone drops the training's weights or `max_terms`)."""
    data = space_to_config(train)
    changed = {k: set_cfg[k] for k in PROBLEM_KEYS if set_cfg.get(k) is not None}
    if "operations" in changed and "operation_weights" not in changed:
        data["operation_weights"] = None  # the training mix belongs to the training operations
    if "terms" in changed and "max_terms" not in changed:
        data["max_terms"] = None
    return data | changed


def eval_set_space(train: ProblemSpace, set_cfg: Any) -> ProblemSpace:
    """The space of an evaluation set: `eval_set_data`, then its relative keys applied:
    `digits` / `digits_scale` (every operand exactly that many digits, or that multiple of the
    training's widest operand, rounded) and `extra_terms` (that many more terms). Raises
    ValueError for a set that asks for no valid space (e.g. fewer than one digit)."""
    space = space_from_config(eval_set_data(train, set_cfg))
    digits = set_cfg.get("digits")
    if set_cfg.get("digits_scale") is not None:
        digits = round(set_cfg["digits_scale"] * train.max_operand_digits)
    if digits is not None:
        if digits < 1:
            raise ValueError(f"operands of {digits} digits")
        space = space.with_changes(
            mode="range", low=0 if digits == 1 else 10 ** (digits - 1), largest=10**digits - 1
        )
    extra = set_cfg.get("extra_terms") or 0
    return space.with_changes(min_terms=space.min_terms + extra, max_terms=space.max_terms + extra)


@dataclass(frozen=True)
class EvalSet:
    """A named evaluation set: its space and how many problems are drawn."""

    name: str
    space: ProblemSpace
    examples: int

    def rng(self, seed: int) -> np.random.Generator:
        """Its own stream: adding or removing another set never changes this one's draw."""
        return np.random.default_rng([seed, EVAL_STREAM, zlib.crc32(self.name.encode())])


def eval_sets(cfg: Any, space: ProblemSpace) -> tuple[EvalSet, ...]:
    """The configured evaluation sets in config order. Raises ValueError (naming the set) when a
    set describes no valid space."""
    sets = []
    for name in cfg.eval.sets:
        set_cfg = typed_set(name, cfg.eval.sets[name])
        try:
            set_space = eval_set_space(space, set_cfg)
        except ValueError as error:
            raise ValueError(f"eval.sets.{name}: {error}") from None
        sets.append(EvalSet(name, set_space, int(set_cfg.get("examples") or cfg.eval.examples)))
    return tuple(sets)
