"""Models: one module per family, each declaring a `ModelFamily` record (`FAMILY`): its config
schema, its builder, its own decode step where it has one, and what it can do (its framing,
whether it reads any length, takes position hints, searches with a beam). The family checks its
own `model` keys; central code asks `FAMILIES` and never names a family.

A family from another installed package is one entry point in the group `addexp.families`
naming its `ModelFamily`, plus a `conf/model/NAME.yaml` on Hydra's search path (docs/extending.md).

The registry and the records import no Keras (config checks stay fast); a family's `build`
imports Keras when a model is actually built. It may import `addexp.framing` and the packages
below it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from addexp.registry import Registry


@dataclass(frozen=True)
class ModelFamily:
    """What the runner needs to know of a family.

    `framing`: the name of the framing it is trained in (`addexp.framing.framings.FRAMINGS`:
    `seq2seq` characters in and out, `autoregressive` the answer written symbol by symbol until
    END, `aligned` place values lined up one answer digit per step, `mapping` numbers in and
    out);
    `schema`: the dataclass of its `model` keys (with `name: str = NAME`); `build(cfg, shapes)
    -> keras.Model` (uncompiled); `decode(model, framing, problems, batch_size, cfg) -> Answers`
    when answers are not one forward pass read by the framing (None: that pass); `figures(model,
    framing, problems, folder) -> [PNG paths]` logged under `<family>/`; `check(model_cfg)`
    refuses its own keys' bad values with ConfigError (types and unknown keys are Hydra's);
    `check_run(cfg)` refuses them against the rest of the run's config (its format, encoding);
    `reach(question_width, answer_width, cfg) -> None or a clause` says why the model cannot
    read a layout that wide (a limit of its own, as a sentence's end naming the key and the
    remedy; `addexp.framing.reach` asks it); `layers`: the module of its own Keras layers,
    imported before a saved model of the family is loaded (`load_layers`).

    Capabilities: `any_length`, it reads questions longer than it was trained on (each question
    is then laid out in widths of its own); `position_hints`, it reads `format.position_hints`
    as features of its question steps (and, if its framing writes step by step, of its answer
    steps); `beam_search`, `model.beam_width` chooses beam search over greedy decoding;
    `masks_input`, it can hide padding steps (`encoding.masking`)."""

    name: str
    framing: str
    schema: type
    build: Callable[..., Any]
    description: str
    any_length: bool = False
    position_hints: bool = False
    beam_search: bool = False
    masks_input: bool = True
    decode: Callable[..., Any] | None = None
    figures: Callable[..., Any] | None = None
    check: Callable[[Any], None] | None = None
    check_run: Callable[[Any], None] | None = None
    reach: Callable[..., str | None] | None = None
    layers: str | None = None


FAMILIES: Registry[ModelFamily] = Registry(
    "model family",
    "addexp.families",
    ModelFamily,
    {
        name: f"addexp.models.{name}:FAMILY"
        for name in (
            "seq2seq",
            "teacher_forcing",
            "attention",
            "transformer",
            "tagger",
            "mapping_lstm",
            "mlp",
        )
    },
)


def families_with(capable: Callable[[ModelFamily], bool]) -> list[str]:
    """Names of the registered families for which `capable(family)` holds, in registry order:
    what a message offers as the families that can do something."""
    return [name for name, family in FAMILIES.items() if capable(family)]


def bind(family: ModelFamily, model_cfg: Any) -> ModelFamily:
    """The family with its decode step and its reach given the run's model config (beam
    width, position table, ...)."""
    bound = {
        key: functools.partial(getattr(family, key), cfg=model_cfg)
        for key in ("decode", "reach")
        if getattr(family, key) is not None
    }
    return replace(family, **bound) if bound else family


def build_model(model_cfg: Any, shapes: Any) -> Any:
    """The configured family's (uncompiled) Keras model for data of these `Shapes`."""
    return FAMILIES[model_cfg.name].build(model_cfg, shapes)


def load_layers(family: ModelFamily) -> None:
    """Import the module of `family`'s own Keras layers, if it has one, so that Keras finds
    them when it loads a saved model (they register themselves on import)."""
    if family.layers is not None:
        importlib.import_module(family.layers)
