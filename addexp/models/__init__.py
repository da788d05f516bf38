"""Model registry: each family is one module with its schema, its builder and, optionally, its
own decode step. The registry imports no Keras (config checks stay fast); a family's `build`
imports Keras when a model is actually built.

Adding a family: write `addexp/models/NAME.py` with `NAME`, `FRAMING`, `ANY_LENGTH`, a schema
dataclass `Config` (with `name: str = NAME`) and `build(cfg, shapes) -> keras.Model` (plus,
optionally, `decode(model, framing, problems, batch_size, cfg) -> Answers` and
`figures(model, framing, problems, folder) -> [paths]`, plots logged under `<family>/`), list the
module in `FAMILIES` below and add `conf/model/NAME.yaml`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from addexp.models import attention, mapping_lstm, mlp, seq2seq, tagger, teacher_forcing


@dataclass(frozen=True)
class ModelFamily:
    """What the runner needs to know of a family: its framing ("seq2seq": characters in and
    out; "autoregressive": characters in, the answer written symbol by symbol until END;
    "aligned": place values lined up, one answer digit per step; "mapping": numbers in and
    out), its config schema, whether it reads questions of any
    length (so evaluation sets and typed questions need not fit the training widths), its
    builder and its decode step (None: one forward pass, read by the framing)."""

    name: str
    framing: str
    schema: type
    any_length: bool
    build: Callable[..., Any]
    decode: Callable[..., Any] | None
    figures: Callable[..., Any] | None  # (model, framing, problems, folder) -> [PNG paths]


def _family(module: ModuleType) -> ModelFamily:
    return ModelFamily(
        module.NAME,
        module.FRAMING,
        module.Config,
        module.ANY_LENGTH,
        module.build,
        getattr(module, "decode", None),
        getattr(module, "figures", None),
    )


FAMILIES: dict[str, ModelFamily] = {
    m.NAME: _family(m) for m in (seq2seq, teacher_forcing, attention, tagger, mapping_lstm, mlp)
}


def bind(family: ModelFamily, model_cfg: Any) -> ModelFamily:
    """The family with its decode step given the run's model config (beam width, ...)."""
    if family.decode is None:
        return family
    return replace(family, decode=functools.partial(family.decode, cfg=model_cfg))


def build_model(model_cfg: Any, shapes: Any) -> Any:
    """The configured family's (uncompiled) Keras model for data of these `Shapes`."""
    return FAMILIES[model_cfg.name].build(model_cfg, shapes)
