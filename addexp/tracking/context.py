"""Where a run was launched and writes, as Hydra reports it (no TensorFlow, no MLflow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from addexp.tracking.store import Store


@dataclass(frozen=True)
class RunContext:
    """Where the run was launched and writes, as Hydra reports it."""

    launch_dir: Path
    output_dir: Path
    preset: str | None = None
    overrides: tuple[str, ...] = ()
    parent_run_id: str | None = None  # set inside a tracked sweep: this run is its child
    run_name: str | None = None  # default name (a sweep child's swept values)
    threads: int = 0  # TensorFlow threads when train.threads is 0 (parallel sweeps)
    store: Store | None = None  # opened and checked store (a sweep's); None: open it
    # the option chosen in each config group ({"model": "seq2seq", ...}; Hydra's own groups
    # and unchosen ones left out): logged as params named by the group, as a sweep names them
    choices: dict[str, str] = field(default_factory=dict)
