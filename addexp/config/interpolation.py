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
from omegaconf.errors import OmegaConfBaseException

from addexp.config.checks import ConfigError


def resolved(cfg: DictConfig | ListConfig, root: DictConfig | None = None) -> Any:
    """`cfg` as plain containers with every interpolation resolved.

    Raises ConfigError naming the first key that cannot be resolved. `root` is the whole config
    when `cfg` is a part of it (to quote the raw value).
    """
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        raw = _raw(root if root is not None else cfg, key)
        shown = f"{key}={raw}" if raw is not None else key
        cause = (getattr(error, "msg", None) or str(error)).splitlines()[0]
        raise ConfigError(
            f"{shown} cannot be resolved: {cause}. An interpolation must name an existing key "
            "(${data.largest}) or a known resolver (${oc.env:NAME}, ${now:%Y-%m-%d})."
        ) from None


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
