"""One registry per kind of part (model families, operations, text formats, metrics), filled from
addexp's own parts and from other installed packages through entry points.

A registry maps a name to a record (a frozen dataclass of the kind's type: what the part is,
what it can do, how it checks its own keys). Built-in parts are named by `module:attribute` and
imported on first use, so asking which names exist stays cheap and free of TensorFlow. Another
package adds a part by declaring an entry point in its own `pyproject.toml`:

    [project.entry-points."addexp.families"]
    conv_tagger = "my_package.conv:FAMILY"

The design follows lm-evaluation-harness's registry (`lm_eval/api/registry.py`) and the way MLflow
finds flavours and pytest its plugins: `origin(name)` says where a part came from, a name given
twice is refused naming both places, an unknown name lists the names there are.

This module imports nothing of addexp: every package may use it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")
BUILT_IN = "addexp"


class RegistryError(ValueError):
    """A part that cannot be registered: two parts of one name, an entry point that does not
    load, or an object of the wrong kind. One paragraph, naming the entry point."""


@dataclass(frozen=True)
class Origin:
    """Where a registered part came from: the distribution that declared it (`addexp` for a
    built-in part) and the object it names (`module:attribute`)."""

    package: str
    target: str

    def __str__(self) -> str:
        return f"{self.target} (package {self.package})"


def _load(target: str) -> object:
    """The object `module:attribute` names (attributes may be dotted)."""
    module, _, attribute = target.partition(":")
    value: object = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


class Registry(Mapping[str, T], Generic[T]):
    """Parts of one `kind` (e.g. "model family"), each a `record` instance, by name.

    `built_in`: name -> `module:attribute` of addexp's own parts, in the order they are listed
    (that order is kept: the operation table's indices depend on it); `group`: the entry-point
    group other packages declare theirs in, loaded after them in name order. `name_of(record)`
    reads the name a record gives itself, which must be the name it is registered under.
    Loading happens once, on first use; raises RegistryError then."""

    def __init__(
        self,
        kind: str,
        group: str,
        record: type,
        built_in: dict[str, str],
        name_of: Callable[[T], str] = lambda record: record.name,  # type: ignore[attr-defined]
    ):
        self.kind, self.group, self.record = kind, group, record
        self._built_in, self._name_of = dict(built_in), name_of
        self._parts: dict[str, T] | None = None
        self._origins: dict[str, Origin] = {}
        self._lock = threading.RLock()

    def _declared(self) -> Iterator[tuple[str, Origin]]:
        """(name, origin) of every part: the built-in ones, then the entry points'."""
        for name, target in self._built_in.items():
            yield name, Origin(BUILT_IN, target)
        found = sorted(entry_points(group=self.group), key=lambda e: (e.name, e.value))
        for point in found:
            package = point.dist.name if point.dist is not None else "unknown"
            yield point.name, Origin(package, point.value)

    def _loaded(self) -> dict[str, T]:
        with self._lock:
            if self._parts is None:
                parts: dict[str, T] = {}
                for name, origin in self._declared():
                    if name in parts:
                        raise RegistryError(
                            f"the {self.kind} {name!r} is defined twice: by "
                            f"{self._origins[name]} and by {origin}; uninstall one of the "
                            f"packages or rename its entry point in the group {self.group!r}."
                        )
                    parts[name] = self._checked(name, origin)
                    self._origins[name] = origin
                self._parts = parts
            return self._parts

    def _checked(self, name: str, origin: Origin) -> T:
        """The record `origin` names, checked to be of this registry's kind and name."""
        try:
            value = _load(origin.target)
        except Exception as error:
            raise RegistryError(
                f"the {self.kind} {name!r} from {origin} does not load: "
                f"{type(error).__name__}: {error}"
            ) from None
        if not isinstance(value, self.record):
            raise RegistryError(
                f"the {self.kind} {name!r} from {origin} is a {type(value).__name__}, not a "
                f"{self.record.__name__}."
            )
        if self._name_of(value) != name:
            raise RegistryError(
                f"the {self.kind} registered as {name!r} from {origin} calls itself "
                f"{self._name_of(value)!r}; the entry point's name and the record's must agree."
            )
        return value

    def __getitem__(self, name: str) -> T:
        parts = self._loaded()
        if name not in parts:
            raise KeyError(
                f"no {self.kind} {name!r}; there are: {', '.join(parts)} (entry-point group "
                f"{self.group!r})"
            )
        return parts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def origin(self, name: str) -> Origin:
        """Where part `name` came from. Raises KeyError for an unknown name."""
        self[name]
        return self._origins[name]

    @contextmanager
    def including(self, record: T, package: str = "(added in this process)") -> Iterator[T]:
        """`record` registered while the block runs (a part tried out in a session or a test,
        without a package of its own). Raises RegistryError if its name is taken."""
        parts, name = self._loaded(), self._name_of(record)
        if name in parts:
            raise RegistryError(
                f"the {self.kind} {name!r} is defined twice: by {self._origins[name]} and by "
                f"{package}."
            )
        with self._lock:
            parts[name], self._origins[name] = record, Origin(package, repr(record))
        try:
            yield record
        finally:
            with self._lock:
                del parts[name], self._origins[name]

    def reload(self) -> None:
        """Forget what was loaded: the next use reads the built-in parts and entry points again
        (after a package was installed in this process)."""
        with self._lock:
            self._parts, self._origins = None, {}
