"""Sweeps: parent and child runs, a failing job, the joblib launcher, Optuna, a tracking server,
and the comparison program on a sweep, all against real MLflow stores."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import TINY, addexp

FAST = [*TINY, "tracking.log_model=false", "eval.examples=20"]


def _all_runs(uri: str, experiment: str = "addexp"):
    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=[experiment])


def _parent_and_children(uri: str):
    runs = _all_runs(uri)
    parents = runs[runs["tags.mlflow.parentRunId"].isna()]
    assert len(parents) == 1, runs[["tags.mlflow.runName", "status"]]
    parent = parents.iloc[0]
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    return parent, children


def test_a_failing_job_is_a_failed_child_and_the_others_go_on(tmp_path):
    result = addexp(["-m", "seed=1", "train.batch_size=0,10", *FAST], tmp_path)
    assert result.returncode == 1
    assert "1 of 2 sweep jobs failed" in result.stderr
    assert "Traceback" not in result.stderr

    parent, children = _parent_and_children(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert parent["status"] == "FAILED"
    assert parent["tags.sweep.finished"] == "1" and parent["tags.sweep.failed"] == "1"
    assert parent["tags.sweep.keys"] == "train.batch_size"
    assert parent["tags.sweep.command"].startswith("addexp -m seed=1 train.batch_size=0,10")
    by_name = children.set_index("tags.mlflow.runName")
    assert by_name.loc["train.batch_size=10", "status"] == "FINISHED"
    assert by_name.loc["train.batch_size=10", "tags.sweep.best"] == "true"
    assert by_name.loc["train.batch_size=0", "status"] == "FAILED"
    assert "train.batch_size=0 is out of range" in by_name.loc["train.batch_size=0", "tags.error"]
    assert parent["tags.sweep.best_run_id"] == by_name.loc["train.batch_size=10", "run_id"]


def test_joblib_launcher_runs_jobs_in_parallel_with_limited_threads(tmp_path):
    result = addexp(
        ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "seed=1,2", *FAST], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parent, children = _parent_and_children(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert parent["status"] == "FINISHED" and parent["tags.sweep.finished"] == "2"
    assert "JoblibLauncher" in parent["tags.sweep.launcher"]
    assert sorted(children["tags.mlflow.runName"]) == ["seed=1", "seed=2"]
    assert set(children["status"]) == {"FINISHED"}
    cores = os.cpu_count() or 1
    assert set(children["params.derived.threads"]) == {str(max(1, cores // 2))}
    # every job's own output folder and log survived
    logs = sorted(tmp_path.glob("multirun/*/*/*/addexp.log"))
    assert len(logs) == 2 and all("test: exact_match" in p.read_text() for p in logs)


def test_optuna_search_logs_trials_as_children_and_marks_the_best(tmp_path):
    result = addexp(
        [
            "-m",
            "hparams_search=seq2seq_optuna",
            "hydra.sweeper.n_trials=3",
            "train.epochs=1",
            "train.examples=300",
            "eval.examples=20",
            "tracking.log_model=false",
            "eval.show=0",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent, children = _parent_and_children(uri)
    assert len(children) == 3 and set(children["status"]) == {"FINISHED"}
    assert "train.learning_rate" in parent["tags.sweep.keys"]
    best = children[children["tags.sweep.best"] == "true"]
    assert len(best) == 1
    assert best.iloc[0]["metrics.val/exact_match"] == children["metrics.val/exact_match"].max()
    assert parent["metrics.best/val/exact_match"] == best.iloc[0]["metrics.val/exact_match"]
    artifacts = [a.path for a in MlflowClient(uri).list_artifacts(parent["run_id"])]
    assert "optimization_results.yaml" in artifacts


def test_comparison_of_a_sweep_prints_its_table_and_logs_it_to_the_parent(tmp_path):
    result = addexp(["-m", "seed=1,2", "train.batch_size=16,32", *FAST], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent, children = _parent_and_children(uri)
    assert len(children) == 4
    exe = Path(sys.executable).with_name("addexp-compare")
    out = subprocess.run(
        [str(exe), "--uri", uri, "--parent", parent["run_id"], "--plot", "cmp.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "grouped by train.batch_size" in out
    lines = [
        line for line in out.splitlines() if line.startswith("| 16 |") or line.startswith("| 32 |")
    ]
    assert len(lines) == 2 and all("| 2 |" in line for line in lines)  # n = 2 seeds per group
    for line, size in zip(lines, ("16", "32"), strict=True):
        scores = children[children["params.train.batch_size"] == size]["metrics.test/exact_match"]
        assert f"| {scores.median():.4f} |" in line
    assert (tmp_path / "cmp.png").stat().st_size > 1000
    logged = {a.path for a in MlflowClient(uri).list_artifacts(parent["run_id"], "comparison")}
    assert logged == {"comparison/compare_test_exact_match.md", "comparison/cmp.png"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """A real `mlflow server` on loopback: SQLite backend, local artifact root."""
    port = _free_port()
    exe = Path(sys.executable).with_name("mlflow")
    server = subprocess.Popen(
        [
            str(exe),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "server-artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            pytest.fail("mlflow server did not come up")
        time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(timeout=30)


def test_runs_and_sweeps_log_to_a_tracking_server(tmp_path, mlflow_server):
    work = tmp_path / "work"
    work.mkdir()
    result = addexp(["-m", "seed=1,2", f"tracking.uri={mlflow_server}", *TINY], work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (work / "mlflow.db").exists()  # nothing written locally
    parent, children = _parent_and_children(mlflow_server)
    assert parent["status"] == "FINISHED" and len(children) == 2
    client = MlflowClient(mlflow_server)
    child = children.iloc[0]["run_id"]
    assert "predictions.csv" in {a.path for a in client.list_artifacts(child)}
    assert mlflow.keras.load_model(f"runs:/{child}/model").output_shape == (None, 2, 12)
    assert any((tmp_path / "server-artifacts").rglob("predictions.csv"))


def test_a_sweep_that_breaks_off_leaves_its_parent_failed(tmp_path):
    result = addexp(["-m", "seed=1", *FAST, "train.epochs=1,abc"], tmp_path)
    assert result.returncode != 0
    assert "train.epochs" in result.stderr and "Traceback" not in result.stderr
    runs = _all_runs(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert set(runs["status"]) == {"FAILED"}  # the parent; no job ran
    assert runs["tags.error"].iloc[0] == "the sweep stopped before all its jobs ran"
