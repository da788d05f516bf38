"""Resolving a composed config's interpolations (`${...}`): strictly before a run, leniently for
recording a job that failed.

Hydra composes `train.examples=${train.exmples}` without complaint; OmegaConf only fails when the
value is read, deep inside whatever reads it first. `resolved` reads everything once, up front,
and turns the first failure into a ConfigError naming the key, its raw value and the cause.
"""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import (
    InterpolationResolutionError,
    OmegaConfBaseException,
    UnsupportedInterpolationType,
)

from addexp.config.checks import ConfigError

RESOLVER = re.compile(r"\$\{([\w.]+):")  # the resolver an interpolation calls


def resolved(cfg: DictConfig | ListConfig, root: DictConfig | None = None) -> Any:
    """`cfg` as plain containers with every interpolation resolved.

    Raises ConfigError naming the first key that cannot be resolved and why: the key it names
    is missing, no resolver has its name, or the resolver it names failed (the resolver named,
    e.g. `hydra`, which has no value in a sweep's controller). `root` is the whole config when
    `cfg` is a part of it (to quote the raw value).
    """
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as error:
        raise _unresolved(error, root if root is not None else cfg) from None


def resolved_key(cfg: DictConfig, key: str) -> Any:
    """The value at the dotted `key` of `cfg`, resolved (None where the key is absent). Raises
    ConfigError as `resolved`."""
    try:
        value = OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
    except OmegaConfBaseException as error:
        raise _unresolved(error, cfg, key) from None
    if isinstance(value, DictConfig | ListConfig):
        return resolved(value, root=cfg)
    return value


def _unresolved(error: OmegaConfBaseException, root: Any, key: str | None = None) -> ConfigError:
    key = getattr(error, "full_key", None) or key or "?"
    raw = _raw(root, key)
    shown = f"{key}={raw}" if raw is not None else key
    cause = (getattr(error, "msg", None) or str(error)).splitlines()[0]
    return ConfigError(f"{shown} cannot be resolved: {_why(error, raw, cause)}")


def _why(error: OmegaConfBaseException, raw: Any, cause: str) -> str:
    """Why an interpolation failed, naming the resolver where one is at fault."""
    if isinstance(error, UnsupportedInterpolationType):
        name = cause.rsplit(" ", 1)[-1]
        return (
            f"no resolver is called {name!r}. An interpolation names an existing key "
            "(${data.largest}) or a known resolver (${oc.env:NAME}, ${now:%Y-%m-%d}, "
            "${hydra:job.num})."
        )
    named = [n for n in RESOLVER.findall(str(raw or "")) if OmegaConf.has_resolver(n)]
    if isinstance(error, InterpolationResolutionError) and named:
        which = " or ".join(f"`{n}`" for n in dict.fromkeys(named))
        return f"the resolver {which} gave no value here ({cause})."
    return (
        f"{cause}. An interpolation must name an existing key (${{data.largest}}) or a known "
        "resolver (${oc.env:NAME}, ${now:%Y-%m-%d})."
    )


def lenient(node: DictConfig | ListConfig) -> Any:
    """Plain containers resolving what resolves; a value that does not keeps its raw text."""
    raw = OmegaConf.to_container(node, resolve=False)
    keys = node.keys() if isinstance(node, DictConfig) else range(len(node))
    out: dict | list = {} if isinstance(node, DictConfig) else [None] * len(node)
    for key in keys:
        try:
            value = node[key]
        except OmegaConfBaseException:
            out[key] = raw[key]
            continue
        out[key] = lenient(value) if isinstance(value, DictConfig | ListConfig) else value
    return out


def _raw(root: DictConfig | ListConfig, key: str) -> Any:
    """The unresolved value at a dotted key (`model.units[0]`), or None if it cannot be found."""
    value: Any = OmegaConf.to_container(root, resolve=False)
    for part in re.findall(r"[^.\[\]]+", key):
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return value
