"""Evaluation sets: named problem spaces beyond (or inside) the training distribution, each
drawn from a stream of its own."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from addexp.config.schema import typed_set
from addexp.problems.space import ProblemSpace, eval_set_space

EVAL_STREAM = 2  # the seed stream of evaluation sets (addexp.training.pipeline names the others)


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
