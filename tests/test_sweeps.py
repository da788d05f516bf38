"""Sweeps: parent and child runs, a failing job, the joblib launcher, Optuna, a tracking server,
and the comparison program on a sweep, all against real MLflow stores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import TINY, addexp
from tests.tracking_helpers import FAST, mlflow_server, parent_and_children, stop_server


@pytest.mark.slow
def test_a_failing_job_is_a_failed_child_and_the_others_go_on(tmp_path):
    result = addexp(["-m", "seed=1", "train.batch_size=0,10", *FAST], tmp_path)
    assert result.returncode == 1
    assert "1 of 2 sweep jobs failed" in result.stderr
    assert "Traceback" not in result.stderr

    parent, children = parent_and_children(f"sqlite:///{tmp_path / 'mlflow.db'}")
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


@pytest.mark.slow
def test_joblib_jobs_in_their_own_folders_share_one_store_and_match_the_basic_launcher(tmp_path):
    launch, basic = tmp_path / "joblib", tmp_path / "basic"
    launch.mkdir()
    basic.mkdir()
    result = addexp(
        [
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "hydra.job.chdir=true",
            "tracking.uri=sqlite:///rel.db",
            "seed=1,2",
            *FAST,
        ],
        launch,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("*.db")] == [Path("joblib/rel.db")]
    parent, children = parent_and_children(f"sqlite:///{launch / 'rel.db'}")
    assert parent["status"] == "FINISHED" and parent["tags.sweep.finished"] == "2"
    assert "JoblibLauncher" in parent["tags.sweep.launcher"]
    assert sorted(children["tags.mlflow.runName"]) == ["seed=1", "seed=2"]
    assert set(children["status"]) == {"FINISHED"}
    cores = os.cpu_count() or 1
    assert set(children["params.derived.threads"]) == {str(max(1, cores // 2))}
    # every job's own output folder and log survived, under the launch folder
    logs = sorted(launch.glob("multirun/*/*/*/addexp.log"))
    assert len(logs) == 2 and all("test: exact_match" in p.read_text() for p in logs)
    for uri in children["artifact_uri"]:
        assert Path(uri.removeprefix("file://")).is_relative_to(launch / "mlruns")

    # the same seed and config on the basic launcher (in this process, TensorFlow's own threads)
    same = addexp(["-m", "seed=1", *FAST], basic)
    assert same.returncode == 0, same.stderr[-3000:]
    reference = parent_and_children(f"sqlite:///{basic / 'mlflow.db'}")[1].iloc[0]
    joblib_run = children.set_index("tags.mlflow.runName").loc["seed=1"]
    metrics = [
        c
        for c in children
        if (c.startswith("metrics.test/") or c == "metrics.train/loss") and "seconds" not in c
    ]
    assert len(metrics) > 4
    assert {m: joblib_run[m] for m in metrics} == {m: reference[m] for m in metrics}


@pytest.mark.slow
def test_optuna_search_records_failed_trials_goes_on_and_marks_the_best(tmp_path):
    # train.batch_size=0 fails validation; with the sampler's seed, trials 1 and 3 draw it
    result = addexp(
        [
            "-m",
            "hparams_search=seq2seq_optuna",
            "hydra.sweeper.n_trials=3",
            "train.batch_size=choice(0,32)",
            "train.epochs=1",
            "train.examples=300",
            "eval.examples=20",
            "tracking.log_model=false",
            "eval.show=0",
        ],
        tmp_path,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "2 of 3 sweep jobs failed" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout.count("Failed experiment") == 2  # Optuna recorded them as failed trials
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent, children = parent_and_children(uri)
    assert parent["tags.sweep.planned"] == "3" and len(children) == 3  # the search went on
    assert sorted(children["status"]) == ["FAILED", "FAILED", "FINISHED"]
    assert "train.learning_rate" in parent["tags.sweep.keys"]
    best = children[children["tags.sweep.best"] == "true"]
    assert len(best) == 1 and best.iloc[0]["status"] == "FINISHED"
    assert parent["metrics.best/val/exact_match"] == best.iloc[0]["metrics.val/exact_match"]
    artifacts = [a.path for a in MlflowClient(uri).list_artifacts(parent["run_id"])]
    assert "optimization_results.yaml" in artifacts


@pytest.mark.slow
def test_a_search_leaves_a_presets_sweep_out_and_never_tunes_the_seed(tmp_path):
    result = addexp(
        [
            "-m",
            "hparams_search=seq2seq_optuna",
            "experiment=ext_masking",
            "hydra.sweeper.n_trials=2",
            "train.epochs=0",  # every trial fails at once: what matters is what was searched
        ],
        tmp_path,
    )
    assert result.returncode != 0
    brings = "experiment=ext_masking brings its own sweep over encoding.masking, seed"
    assert brings in result.stderr
    parent, children = parent_and_children(f"sqlite:///{tmp_path / 'mlflow.db'}")
    keys = parent["tags.sweep.keys"].split(",")
    assert "seed" not in keys and "encoding.masking" not in keys and "train.learning_rate" in keys
    assert len(children) == 2 and set(children["status"]) == {"FAILED"}
    assert set(children["params.seed"]) == {"1"}
    assert set(children["params.encoding.masking"]) == {"True"}

    refused = addexp(["-m", "hparams_search=seq2seq_optuna", "seed=1,2"], tmp_path)
    assert refused.returncode == 2
    assert "a search must not tune the seed" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.slow
def test_comparison_of_a_sweep_prints_its_table_and_logs_it_to_the_parent(tmp_path):
    result = addexp(["-m", "seed=1,2", "train.batch_size=16,32", *FAST], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent, children = parent_and_children(uri)
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


@pytest.mark.slow
def test_runs_and_sweeps_log_to_a_tracking_server_and_a_stopped_one_is_reported(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    with mlflow_server(tmp_path) as (url, server):
        result = addexp(["-m", "seed=1,2", f"tracking.uri={url}", *TINY], work)
        assert result.returncode == 0, result.stderr[-3000:]
        assert not (work / "mlflow.db").exists()  # nothing written locally
        parent, children = parent_and_children(url)
        assert parent["status"] == "FINISHED" and len(children) == 2
        client = MlflowClient(url)
        child = children.iloc[0]["run_id"]
        assert "predictions.csv" in {a.path for a in client.list_artifacts(child)}
        logged = mlflow.pyfunc.load_model(f"runs:/{child}/model")
        assert logged.unwrap_python_model().model.output_shape == (None, 2, 12)
        assert logged.predict(["3+4"])["question"].tolist() == ["3+4"]  # through the server
        assert any((tmp_path / "server-artifacts").rglob("predictions.csv"))
        stop_server(server)

        start = time.monotonic()
        stopped = addexp([f"tracking.uri={url}", *TINY], work)
        seconds = time.monotonic() - start
    assert stopped.returncode == 2 and seconds < 15, (seconds, stopped.stderr[-2000:])
    assert f"tracking.uri={url}: no MLflow server answers there" in stopped.stderr
    assert "Traceback" not in stopped.stderr
