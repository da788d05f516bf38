"""The `model` section: a registered family, exactly its keys, and the family's own check of
their values; and the checks several families share (each family's `check` calls those it
needs)."""

from __future__ import annotations

import dataclasses
from typing import Any

from addexp.config.checks import ConfigError, at_least, choice
from addexp.models import FAMILIES, ModelFamily


def layer_sizes(m: Any, key: str) -> None:
    """`model.<key>` is a non-empty list of layer sizes, each >= 1."""
    if len(m[key]) == 0:
        raise ConfigError(f"model.{key} is empty; give at least one layer size, e.g. [50].")
    for units in m[key]:
        at_least(f"model.{key}", units, 1)


def unrolling(m: Any) -> None:
    """`model.unroll_max_steps` >= 0 (0: never unroll)."""
    at_least("model.unroll_max_steps", m.unroll_max_steps, 0)


def check_model(cfg: Any) -> ModelFamily:
    """The family `model.name` names, its keys and their values (the family's own `check`).
    Raises ConfigError naming the key."""
    choice("model.name", cfg.model.name, sorted(FAMILIES))
    family = FAMILIES[cfg.model.name]
    _check_keys(cfg, family)
    if family.check is not None:
        family.check(cfg.model)
    return family


def _check_keys(cfg: Any, family: ModelFamily) -> None:
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
