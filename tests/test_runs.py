"""A process killed outright leaves RUNNING runs behind: they are found, counted as neither
alive nor finished, and can be marked. A real `addexp` sweep killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import addexp
from tests.tracking_helpers import all_runs


def _tool(name: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name(name)
    return subprocess.run(
        [str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _wait_for_training(uri: str, process: subprocess.Popen, timeout: float = 180) -> None:
    """Until a child run of the sweep has logged an epoch."""
    deadline = time.monotonic() + timeout
    jobs = Path(uri.removeprefix("sqlite:///")).with_name("multirun")
    while time.monotonic() < deadline:
        assert process.poll() is None, "addexp ended before it could be killed"
        if not jobs.exists():  # the store is not ready yet; querying it would create it here,
            time.sleep(1)  # racing addexp's own creation of its tables
            continue
        try:
            runs = all_runs(uri)
        except Exception:  # the store or the experiment is still being created
            runs = None
        if (
            runs is not None
            and "metrics.train/loss" in runs
            and runs["metrics.train/loss"].notna().any()
        ):
            return
        time.sleep(1)
    pytest.fail("no epoch was logged in time")


@pytest.mark.slow
def test_runs_of_a_killed_sweep_are_found_stale_left_out_and_marked(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("MLFLOW_TRACKING_URI", None)
    long_sweep = ["-m", "seed=1,2", "train.epochs=1000", "train.examples=64"]
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("addexp")), *long_sweep, "tracking.log_model=false"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    try:
        _wait_for_training(uri, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    runs = all_runs(uri)
    assert sorted(runs["status"]) == ["RUNNING", "RUNNING"]  # the parent and the first child
    assert set(runs["tags.addexp.pid"]) == {str(process.pid)}

    found = _tool("addexp-runs", ["--stale"], tmp_path)
    assert found.returncode == 0, found.stderr
    assert "2 run(s) of experiment 'addexp' show RUNNING; 2 of them stale" in found.stdout
    assert found.stdout.count(f"its process {process.pid} on ") == 2

    compared = _tool("addexp-compare", [], tmp_path)
    assert compared.returncode == 0, compared.stderr
    assert "over 0 runs" in compared.stdout
    assert "1 run(s) showing RUNNING are left out: 0 still going, 1 stale" in compared.stderr

    later = addexp(["-m", "seed=1,2", "train.batch_size=0"], tmp_path)
    assert later.returncode == 1
    assert "2 run(s) of experiment 'addexp' show RUNNING but their processes are gone" in (
        later.stderr
    )
    after = all_runs(uri)
    new_parent = after[after["tags.sweep.keys"].notna() & ~after["run_id"].isin(runs["run_id"])]
    assert new_parent["tags.sweep.jobs"].tolist() == ["2"]  # only its own jobs counted

    marked = _tool("addexp-runs", ["--stale", "--mark"], tmp_path)
    assert "marked 2 stale run(s) KILLED" in marked.stdout
    killed = all_runs(uri).set_index("run_id").loc[runs["run_id"]]
    assert set(killed["status"]) == {"KILLED"}
    assert all(e.startswith("stale: its process") for e in killed["tags.error"])
    assert (
        "0 run(s) of experiment 'addexp' show RUNNING" in _tool("addexp-runs", [], tmp_path).stdout
    )


def test_a_run_elsewhere_is_judged_by_its_heartbeat(store):
    from addexp.tracking.liveness import HEARTBEAT_TAG, HOST_TAG, PID_TAG, judge

    client = MlflowClient(store)
    experiment = client.create_experiment("addexp")
    now = time.time()
    elsewhere = {HOST_TAG: "another-host", PID_TAG: "1"}
    recent = client.create_run(experiment, tags={**elsewhere, HEARTBEAT_TAG: f"{now - 60:.0f}"})
    silent = client.create_run(experiment, tags={**elsewhere, HEARTBEAT_TAG: f"{now - 3600:.0f}"})
    ended = subprocess.Popen(["true"])
    ended.wait()
    here = {HOST_TAG: socket.gethostname(), PID_TAG: str(ended.pid)}
    here_gone = client.create_run(experiment, tags=here)
    assert not judge(client.get_run(recent.info.run_id), now).stale
    verdict = judge(client.get_run(silent.info.run_id), now)
    assert verdict.stale and "60 min ago" in verdict.reason
    assert judge(client.get_run(silent.info.run_id), now, stale_after=7200).stale is False
    assert judge(client.get_run(here_gone.info.run_id), now).stale  # no such process here
