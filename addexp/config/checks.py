"""The words every check uses to refuse a config: `ConfigError` and the three checks of one key.

Each part checks its own keys with these (problems the `data` keys, a model family its `model`
keys, training the `train` keys, ...); `addexp.cli.entry.validate` asks each in the order the
data flows. A message is one paragraph that names the key, its value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ConfigError(ValueError):
    """A user's configuration mistake: reported as one paragraph, without a traceback."""


def choice(key: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ConfigError unless `value` is one of `allowed` (listed in the message)."""
    allowed = list(allowed)
    if value not in allowed:
        names = ", ".join(str(a) for a in allowed)
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of: {names}.")


def at_least(key: str, value: float, low: float) -> None:
    """Raise ConfigError if `value` < `low`."""
    if value < low:
        raise ConfigError(f"{key}={value} is out of range; it must be >= {low}.")


def at_most(key: str, value: float, high: float, why: str) -> None:
    """Raise ConfigError if `value` > `high`; `why` says what the limit is for."""
    if value > high:
        raise ConfigError(f"{key}={value} is out of range; it must be <= {high} ({why}).")


def rate(key: str, value: float) -> None:
    """Raise ConfigError unless 0 <= `value` < 1 (a dropout rate, a held-out fraction)."""
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{key}={value} is out of range; use [0, 1).")


def known_keys(section: Any, path: str = "") -> None:
    """Raise ConfigError for a key the schema does not have in a typed section (a dataclass's):
    Hydra's `+key=value` adds a key even there, so a mistyped `+train.epoch=1` would otherwise
    train with the default. Free sections (`eval.sets`, a dict) take any key, as does Hydra's
    own `hydra` node where a config carries it; values are not resolved."""
    from dataclasses import fields, is_dataclass

    from omegaconf import DictConfig, OmegaConf

    kind = OmegaConf.get_type(section)
    if is_dataclass(kind):
        names = [f.name for f in fields(kind)]
        extra = [str(k) for k in section if k not in names and (path or k != "hydra")]
        if extra:
            where = path.rstrip(".") or "the config"
            raise ConfigError(
                f"{path}{extra[0]} is not a key of {where}; its keys: {', '.join(names)}. "
                "A key added with + must be one the schema has (only free sections such as "
                "eval.sets take new keys)."
            )
    for key in section:
        if not path and key == "hydra":
            continue
        node = section._get_node(key)
        if isinstance(node, DictConfig) and not node._is_missing() and not node._is_none():
            known_keys(node, f"{path}{key}.")
