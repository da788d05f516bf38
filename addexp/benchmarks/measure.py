"""Measuring: repeated values and their summary, alternating sides, timed child processes.

Every comparison runs its sides in turn (A, B, A, B, ...) in one sitting, so load from other
people's work on a shared machine falls on both alike, and is summarised by its median and range.
Child processes are timed from start to exit with their peak resident memory sampled over the
whole process tree (psutil; the standard library's `resource` reports only the largest process
ever waited for, not one run's tree).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

RSS_SAMPLE_SECONDS = 0.02  # how often a child's process tree is sampled for resident memory


@dataclass(frozen=True)
class Stat:
    """Repeated measurements of one quantity, in the order taken."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def text(self, spec: str = ".2f") -> str:
        """'median (min-max)', e.g. '1.23 (1.10-1.40)'."""
        return f"{self.median:{spec}} ({self.low:{spec}}-{self.high:{spec}})"


def stats(rows: Sequence[dict[str, float]]) -> dict[str, Stat]:
    """Per key, the values of every row (rows: one dict of measurements per repeat)."""
    return {key: Stat(tuple(float(row[key]) for row in rows)) for key in rows[0]}


def alternate(
    sides: dict[str, Callable[[int], dict[str, float]]], repeats: int
) -> dict[str, dict[str, Stat]]:
    """Run every side once per repeat, in turn (A, B, A, B, ...); each side is called with the
    repeat's index and returns its measurements. Returns, per side, a Stat per measurement."""
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    for repeat in range(repeats):
        for name, side in sides.items():
            rows[name].append(side(repeat))
    return {name: stats(measured) for name, measured in rows.items()}


@dataclass(frozen=True)
class Finished:
    """A child process that ran to its end: wall seconds from start to exit, peak resident
    memory of its process tree (bytes), exit status and output, and the seconds from start to
    its first byte of standard output (`first_output`, to within RSS_SAMPLE_SECONDS; the
    exit's seconds when it wrote none)."""

    seconds: float
    peak_rss: int
    returncode: int
    stdout: str
    stderr: str
    first_output: float


class ProcessFailed(RuntimeError):
    """A measured command exited with a non-zero status or ran past its time limit (message:
    the command and the end of its stderr)."""


def child_env() -> dict[str, str]:
    """The environment of measured processes: TensorFlow's start-up chatter off, no tracking
    URI inherited from the caller (every command names its own store)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "HYDRA_FULL_ERROR": "0"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def console_script(name: str) -> list[str]:
    """The command of an installed console script (`addexp`, `addexp-predict`) of this Python:
    the script beside the interpreter, else `python -m` its module."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    module = {"addexp": "addexp", "addexp-predict": "addexp.cli.predict"}[name]
    return [sys.executable, "-m", module]


def _tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (those that vanish are skipped)."""
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_process(command: Sequence[str], cwd: Path, timeout: float = 3600) -> Finished:
    """Run `command` in `cwd` to its end; wall time from start to exit, with the tree's
    resident memory sampled every RSS_SAMPLE_SECONDS. Its output goes to temporary files, not
    pipes, so a child that writes much can never block on a full pipe while it is timed; the
    file's size tells when its first output came. Raises ProcessFailed on a non-zero exit, and
    ProcessFailed (after killing it) past `timeout` seconds."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        popen = subprocess.Popen(list(command), cwd=cwd, env=child_env(), stdout=out, stderr=err)
        peak, first = 0, None
        try:
            process = psutil.Process(popen.pid)
            while True:
                with contextlib.suppress(psutil.Error):
                    peak = max(peak, _tree_rss(process))
                if first is None and os.fstat(out.fileno()).st_size:
                    first = time.perf_counter() - start
                try:  # returns as soon as the child exits: no sampling delay in its wall time
                    popen.wait(timeout=RSS_SAMPLE_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    if time.perf_counter() - start > timeout:
                        popen.kill()
                        popen.wait()
                        raise ProcessFailed(
                            f"{' '.join(command)} ran past {timeout:.0f} s and was killed"
                        ) from None
        except psutil.NoSuchProcess:  # gone before the first sample
            popen.wait()
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if popen.returncode != 0:
        raise ProcessFailed(
            f"{' '.join(command)} exited with status {popen.returncode}:\n{stderr[-3000:]}"
        )
    first = seconds if first is None else first
    return Finished(seconds, peak, popen.returncode, stdout, stderr, first)


def latest_run(uri: str) -> Any:
    """The newest run of experiment `addexp` in the store at `uri` (an MLflow `Run`): the one a
    child `addexp` process just finished there. Raises ValueError when the store has none."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("addexp")
    if experiment is not None:
        order = ["attributes.start_time DESC"]
        for run in client.search_runs([experiment.experiment_id], order_by=order, max_results=1):
            return run
    raise ValueError(f"no addexp run in {uri}")
