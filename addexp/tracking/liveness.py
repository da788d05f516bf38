"""Whether a run MLflow shows as RUNNING is still alive: owner tags, a heartbeat, a verdict.

A process killed outright (SIGKILL, the OOM killer, a lost node) cannot end its run, so MLflow keeps
showing it RUNNING forever. Every run addexp opens (and every sweep's parent) therefore records its
owner - tags `addexp.host`, `addexp.pid` and `addexp.pid_started` (the process's start time, so a
reused pid is not taken for the owner) - and a heartbeat, tag `addexp.heartbeat` (Unix seconds),
refreshed by a background thread every `HEARTBEAT_SECONDS` while the run is open.

A RUNNING run is stale when its owner process is gone (judged on the owner's host), or when its
last heartbeat - its start time, for runs without one - is older than `stale_after` (any host).
Process start times come from psutil, which reads them portably.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

import psutil

log = logging.getLogger("addexp")

HOST_TAG, PID_TAG, STARTED_TAG = "addexp.host", "addexp.pid", "addexp.pid_started"
HEARTBEAT_TAG = "addexp.heartbeat"
HEARTBEAT_SECONDS = 30.0
STALE_AFTER_SECONDS = 600.0  # 20 missed heartbeats


def owner_tags() -> dict[str, str]:
    """Tags naming this process as the run's owner, with a first heartbeat."""
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        STARTED_TAG: f"{psutil.Process().create_time():.3f}",
        HEARTBEAT_TAG: f"{time.time():.0f}",
    }


class Heartbeat:
    """A daemon thread refreshing a run's `addexp.heartbeat` tag until `stop()`.

    Written with MlflowClient (not the fluent API, whose active run is per thread); a failed write
    is logged and retried at the next beat, never raised into the training.
    """

    def __init__(self, uri: str, run_id: str, interval: float = HEARTBEAT_SECONDS) -> None:
        from mlflow.tracking import MlflowClient

        self._client, self._run_id, self._interval = MlflowClient(uri), run_id, interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._client.set_tag(self._run_id, HEARTBEAT_TAG, f"{time.time():.0f}")
            except Exception as error:  # the store may be briefly busy; the next beat retries
                log.debug("heartbeat of run %s not written: %s", self._run_id, error)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)


@dataclass(frozen=True)
class Verdict:
    """Whether a RUNNING run is stale, and why (for people)."""

    stale: bool
    reason: str


def judge(run, now: float | None = None, stale_after: float = STALE_AFTER_SECONDS) -> Verdict:
    """Judge a RUNNING MLflow run (an `mlflow.entities.Run`); `now` and `stale_after` in seconds."""
    now = time.time() if now is None else now
    tags = run.data.tags
    host, pid = tags.get(HOST_TAG), tags.get(PID_TAG)
    if host == socket.gethostname() and pid and not _owner_alive(int(pid), tags.get(STARTED_TAG)):
        return Verdict(True, f"its process {pid} on {host} is gone")
    last = float(tags.get(HEARTBEAT_TAG, run.info.start_time / 1000))
    age = now - last
    what = "heartbeat" if HEARTBEAT_TAG in tags else "sign of life (no heartbeat; its start)"
    if age > stale_after:
        return Verdict(True, f"its last {what} was {age / 60:.0f} min ago")
    owner = f"process {pid} on {host}" if pid else "an unknown process"
    return Verdict(False, f"{owner}, last {what} {age:.0f} s ago")


def _owner_alive(pid: int, started: str | None) -> bool:
    """The process with this pid exists, is not a zombie, and started when the owner did."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's live process
    return started is None or abs(created - float(started)) < 1.0


def search_all(client, experiment_ids: list[str], filter_string: str) -> list:
    """Every run of the experiments matching an MLflow filter, over as many result pages as it
    takes (an `MlflowClient`'s `search_runs` returns at most 1000 at a time)."""
    runs, token = [], None
    while True:
        page = client.search_runs(experiment_ids, filter_string, max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            return runs


def running_runs(client, experiment_ids: list[str], filter_string: str = "") -> list:
    """Every run of the experiments MLflow shows as RUNNING (optionally narrowed by a filter)."""
    query = " and ".join(filter(None, ["attributes.status = 'RUNNING'", filter_string]))
    return search_all(client, experiment_ids, query)


def mark_stale(client, run, verdict: Verdict) -> None:
    """End a stale run KILLED with the reason in its tag `error`."""
    client.set_tag(run.info.run_id, "error", f"stale: {verdict.reason}")
    client.set_terminated(run.info.run_id, "KILLED")
