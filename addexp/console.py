"""The console below every package: TensorFlow's C++ start-up log, held to
`TF_CPP_MIN_LOG_LEVEL` while TensorFlow is imported. It imports nothing of addexp, so the
commands (`addexp.cli`) and the logged model's loader (`addexp.tracking.model_code`) share it.

TensorFlow's shared libraries log through absl from their static initialisers, before
TensorFlow has read `TF_CPP_MIN_LOG_LEVEL`: on a CPU where oneDNN is on by default (AVX512-VNNI,
AMX) every process prints "oneDNN custom operations are on ..." as an `I0000` line, twice, and
absl's "All log messages before absl::InitializeLog() ..." banner, whatever the level says
(tensorflow/tensorflow#100442). Neither TensorFlow nor absl offers a switch for those lines, so
the first `import tensorflow` of a process (by addexp, Keras or MLflow) runs with file
descriptor 2 caught in a temporary file; afterwards every caught line is written back to
stderr except absl lines below the level (severity I=0, W=1, E=2, F=3) and, at a level above 0,
the banner. Nothing else is dropped: Python's own messages and a fatal line pass through.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

# "I0000 00:00:1796653104.625100    4925 port.cc:153] ...": before absl is initialised its
# clock field is raw seconds
ABSL_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+ +\d+ \S+:\d+\] ")
BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
SEVERITY = "IWEF"
FATAL_ONLY = "3"  # TF_CPP_MIN_LOG_LEVEL of a quiet console: TensorFlow raises what stops a run


def min_log_level(environ: dict[str, str] | os._Environ = os.environ) -> int:
    """TensorFlow's `TF_CPP_MIN_LOG_LEVEL` as it reads it: an integer, 0 when unset or not one."""
    try:
        return int(environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def kept(text: str, level: int) -> str:
    """`text` (caught stderr) without the absl messages below `level` (a message's own further
    lines included) and, above 0, the banner."""
    out, dropping = [], False
    for line in text.splitlines(keepends=True):
        absl = ABSL_LINE.match(line)
        banner = line.rstrip("\n") == BANNER
        if absl or banner:
            dropping = SEVERITY.index(absl[1]) < level if absl else level > 0
        if not dropping:
            out.append(line)
    return "".join(out)


@contextlib.contextmanager
def held_to_level() -> Iterator[None]:
    """Catch file descriptor 2 for the block; write back what `kept` keeps at the current level."""
    level = min_log_level()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            rest = kept(caught.read().decode(errors="replace"), level)
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()


class _HeldLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run inside `held_to_level`, given back to the module after."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            with held_to_level():
                self.loader.exec_module(module)
        finally:
            module.__loader__ = self.loader
            if module.__spec__ is not None:
                module.__spec__.loader = self.loader


class _FirstTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as the other finders do, once, and wraps its loader."""

    def find_spec(
        self, name: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _HeldLoader(spec.loader)
        return spec


def install() -> None:
    """Hold the first `import tensorflow` of this process to the level (once; no-op after it)."""
    if "tensorflow" in sys.modules or any(
        isinstance(f, _FirstTensorFlowImport) for f in sys.meta_path
    ):
        return
    sys.meta_path.insert(0, _FirstTensorFlowImport())


def quiet_tensorflow() -> None:
    """TensorFlow's C++ log at fatal only unless TF_CPP_MIN_LOG_LEVEL is set, its import-time
    lines held to that level (`install`): for a process addexp does not start itself (a
    model MLflow loads), where no other console default is addexp's to set."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", FATAL_ONLY)
    install()
