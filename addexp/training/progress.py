"""Progress over a run's epochs on the console (`train.progress`).

- `bar`: a tqdm bar on stderr (epochs done, rate, time left, the last epoch's metrics).
- `lines`: one log line per epoch (`epoch 3/30  train/loss 0.51 ...`), which also lands in
  Hydra's job log file.
- `off`: nothing.
- `auto` (default): `bar` when stderr is an interactive terminal and the run is not a sweep job,
  else `lines`. So a person at a terminal sees a bar; redirected output, CI logs and sweep jobs
  (whose outputs interleave) get plain lines; tests, which capture output, show nothing.
  A sweep job's lines land in its log file only: a sweep's console shows a line per job
  (`addexp.sweeps.callback.SweepConsole`).

Keras's own progress bar (`train.verbose`) counts batches within each epoch and writes to
stdout; the bar over a run's epochs, with the metrics a run records, is tqdm's.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

log = logging.getLogger("addexp")

MODES = ("auto", "bar", "lines", "off")
OnEpoch = Callable[[int, dict[str, float]], None]


def resolve_mode(mode: str, interactive: bool, in_sweep: bool) -> str:
    """`auto` made concrete: `bar` on an interactive terminal outside sweeps, else `lines`.
    Raises ValueError for a mode not in MODES."""
    if mode not in MODES:
        raise ValueError(f"progress mode {mode!r} is not one of {', '.join(MODES)}")
    if mode != "auto":
        return mode
    return "bar" if interactive and not in_sweep else "lines"


def _summary(metrics: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.4g}" for name, value in metrics.items())


@contextmanager
def epochs(
    mode: str, total: int, label: str, then: OnEpoch, in_sweep: bool = False
) -> Iterator[OnEpoch]:
    """Yield an `on_epoch(epoch, metrics)` callback (epoch from 0) that calls `then` and shows
    progress as `mode` says (see the module docstring); the bar closes when the block ends."""
    concrete = resolve_mode(mode, sys.stderr.isatty(), in_sweep)
    start = time.perf_counter()
    bar = (
        tqdm(total=total, desc=label, unit="epoch", file=sys.stderr, dynamic_ncols=True)
        if concrete == "bar"
        else None
    )

    def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
        then(epoch, metrics)
        if bar is not None:
            bar.set_postfix_str(_summary(metrics), refresh=False)
            bar.update(1)
        elif concrete == "lines":
            elapsed = time.perf_counter() - start
            log.info("epoch %d/%d  %s  (%.1f s)", epoch + 1, total, _summary(metrics), elapsed)

    try:
        yield on_epoch
    finally:
        if bar is not None:
            bar.close()
