"""Helpers for tests against real MLflow stores: reading runs, a real server, a real read-only
folder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pytest

from tests.conftest import TINY, serve_mlflow

FAST = [*TINY, "tracking.log_model=false", "eval.examples=20"]


def all_runs(uri: str, experiment: str = "addexp"):
    """Every run of the experiment (pandas, one row per run, `tags.*`, `params.*` columns)."""
    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=[experiment])


def parent_and_children(uri: str, experiment: str = "addexp"):
    """The one sweep parent of the experiment and its children; fails if there is not one."""
    runs = all_runs(uri, experiment)
    parents = runs[runs["tags.mlflow.parentRunId"].isna()]
    assert len(parents) == 1, runs[["tags.mlflow.runName", "status"]]
    parent = parents.iloc[0]
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    assert len(children) == len(runs) - 1, "runs outside the sweep"
    return parent, children


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def mlflow_server(folder: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real `mlflow server` on loopback (SQLite backend, local artifact root): (url, process)."""
    artifacts = ("--artifacts-destination", str(folder / "server-artifacts"))
    backend = f"sqlite:///{folder / 'server.db'}"
    with serve_mlflow(backend, folder / "server.log", 90, artifacts) as (url, server):
        yield url, server


def stop_server(server: subprocess.Popen) -> None:
    """Stop the server and its workers (its own process group)."""
    if server.poll() is None:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait(timeout=30)


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """Make `folder` refuse new files for this user, for real.

    As an ordinary user, mode 0555 does it. Root ignores modes, so as root the folder gets the
    immutable attribute (`chattr +i`, which binds root too); skips only if that is unavailable.
    """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], check=False).returncode:
        pytest.skip("running as root, and this file system has no immutable attribute")
    try:
        yield folder
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)
