"""What MLflow's environment variables may do, through the real `addexp` into real SQLite stores:
no run that existed before a command is changed by it, whatever the environment says; the
variables addexp ignores are named in a note and never reach MLflow; those it honours choose
the store and experiment of a single run and of every job of a sweep alike."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from addexp.sweeps.link import SweepLink
from addexp.tracking import environment
from tests.conftest import TINY, addexp

FAST = [*TINY, "train.epochs=1", "eval.examples=20", "eval.show=0", "tracking.log_model=false"]


def snapshot(uri: str) -> dict[str, tuple]:
    """Every run of every experiment of the store: its experiment, name, status, end time,
    params, metrics (with their whole history) and tags."""
    client = MlflowClient(uri)
    runs = {}
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id], max_results=1000):
            history = {k: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, k)]
                       for k in run.data.metrics}  # fmt: skip
            runs[run.info.run_id] = (
                run.info.experiment_id,
                run.info.run_name,
                run.info.status,
                run.info.end_time,
                dict(run.data.params),
                history,
                dict(run.data.tags),
            )
    return runs


def _unchanged(before: dict, after: dict) -> list[str]:
    """Runs that existed before and differ (or are gone) after."""
    return [run_id for run_id, state in before.items() if after.get(run_id) != state]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> dict:
    """A store holding one finished run of addexp and one of another experiment."""
    folder = tmp_path_factory.mktemp("finished")
    done = addexp([*FAST, "seed=3"], folder)
    assert done.returncode == 0, done.stderr[-2000:]
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(uri)
    other = client.create_experiment("someone-elses")
    run = client.search_runs([client.get_experiment_by_name("addexp").experiment_id])[0]
    return {"folder": folder, "uri": uri, "run_id": run.info.run_id, "other_experiment": other}


def _copy(finished: dict, tmp_path: Path) -> str:
    """The finished store copied for one test (SQLite's backup: a consistent copy)."""
    source = sqlite3.connect(finished["folder"] / "mlflow.db")
    target = sqlite3.connect(tmp_path / "mlflow.db")
    source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def _ignored_values(finished: dict) -> dict[str, str]:
    """A value for every ignored variable that would take over or attach to the finished run."""
    run_id = finished["run_id"]
    values = {
        "MLFLOW_RUN_ID": run_id,
        "MLFLOW_EXPERIMENT_ID": finished["other_experiment"],
        "MLFLOW_RUN_CONTEXT": json.dumps({"mlflow.parentRunId": run_id, "taken": "over"}),
        "MLFLOW_ACTIVE_MODEL_ID": "m-0123456789abcdef0123456789abcdef",
        "_MLFLOW_ACTIVE_MODEL_ID": "m-0123456789abcdef0123456789abcdef",
    }
    assert set(values) == set(environment.IGNORED)  # a new ignored variable needs a value here
    return values


def _check_ignored(finished: dict, tmp_path: Path, env: dict[str, str], sweep: bool) -> None:
    uri = _copy(finished, tmp_path)
    before = snapshot(uri)
    args = ["-m", "seed=1,2", *FAST] if sweep else [*FAST, "seed=7"]
    done = addexp(args, tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    after = snapshot(uri)
    assert not _unchanged(before, after), "a run that existed before was changed"
    new = {k: v for k, v in after.items() if k not in before}
    assert len(new) == (3 if sweep else 1)
    addexp_id = MlflowClient(uri).get_experiment_by_name("addexp").experiment_id
    parents = [k for k, v in new.items() if "sweep.keys" in v[6]]
    assert len(parents) == (1 if sweep else 0)
    for run_id, (experiment_id, _, status, _, _, _, tags) in new.items():
        assert experiment_id == addexp_id and status == "FINISHED"
        assert "taken" not in tags  # MLFLOW_RUN_CONTEXT's tags were not read
        parent = tags.get("mlflow.parentRunId")
        assert parent == (parents[0] if sweep and run_id not in parents else None)
    for name, value in env.items():
        assert done.stderr.count(f"addexp: note: {name}={value} is ignored") == 1


@pytest.mark.parametrize(
    "sweep", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["single", "sweep"]
)
def test_no_variable_makes_addexp_write_into_a_run_it_did_not_open(finished, tmp_path, sweep):
    _check_ignored(finished, tmp_path, _ignored_values(finished), sweep)


@pytest.mark.slow
@pytest.mark.parametrize("sweep", [False, True], ids=["single", "sweep"])
@pytest.mark.parametrize("name", environment.IGNORED)
def test_each_ignored_variable_alone_leaves_every_run_as_it_was(finished, tmp_path, name, sweep):
    _check_ignored(finished, tmp_path, {name: _ignored_values(finished)[name]}, sweep)


@pytest.mark.slow
@pytest.mark.parametrize("sweep", [False, True], ids=["single", "sweep"])
def test_the_tracking_uri_and_experiment_name_choose_where_runs_go(tmp_path, sweep):
    elsewhere = tmp_path / "elsewhere.db"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{elsewhere}", "MLFLOW_EXPERIMENT_NAME": "chosen"}
    args = ["-m", "seed=1,2", *FAST] if sweep else FAST
    done = addexp(args, tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (tmp_path / "mlflow.db").exists()
    client = MlflowClient(f"sqlite:///{elsewhere}")
    runs = client.search_runs([client.get_experiment_by_name("chosen").experiment_id])
    assert len(runs) == (3 if sweep else 1) and {r.info.status for r in runs} == {"FINISHED"}
    explicit = addexp([*FAST, "tracking.uri=sqlite:///mine.db", "tracking.experiment=mine"],
                      tmp_path, env=env)  # fmt: skip
    assert explicit.returncode == 0, explicit.stderr[-3000:]
    mine = MlflowClient(f"sqlite:///{tmp_path / 'mine.db'}")
    assert len(mine.search_runs([mine.get_experiment_by_name("mine").experiment_id])) == 1


@pytest.mark.slow
def test_a_sweep_job_takes_the_controller_s_mlflow_variables(tmp_path):
    """The controller's MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING reaches every job, whatever the
    job's own environment says (here Hydra's env_set, as a worker on another machine would)."""
    env = {"MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "true",
           "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "0.5"}  # fmt: skip
    own = "++hydra.job.env_set.MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=false"
    done = addexp(["-m", "seed=1,2", *FAST, own], tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("addexp").experiment_id])
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(children) == 2
    for child in children:
        assert any(k.startswith("system/") for k in child.data.metrics), child.info.run_name


def test_the_link_carries_every_carried_variable_and_a_job_adopts_exactly_those():
    controller = {name: f"value-{i}" for i, name in enumerate(environment.CARRIED)}
    controller["MLFLOW_TRACKING_PASSWORD"] = "secret"
    carried = environment.carried(controller)
    assert carried == {k: v for k, v in controller.items() if k in environment.CARRIED}
    assert "MLFLOW_TRACKING_PASSWORD" not in carried  # a secret is never written to a config
    job = {name: "the job's own" for name in environment.CARRIED}
    job["MLFLOW_TRACKING_PASSWORD"] = "the job's secret"
    first, *rest = environment.CARRIED
    environment.adopt({k: v for k, v in carried.items() if k != first}, job)
    assert first not in job  # the controller had none: neither has the job
    assert {k: job[k] for k in rest} == {k: carried[k] for k in rest}
    assert job["MLFLOW_TRACKING_PASSWORD"] == "the job's secret"
    store = {"uri": "u", "experiment_id": "1", "experiment": "e", "artifact_location": None}
    link = SweepLink.from_json(json.dumps({"parent_run_id": "p", "store": store,
        "launch_dir": "/", "configured_artifact_location": None, "keys": [], "threads": 0,
        "jobs": None, "environment": carried}))  # fmt: skip
    assert SweepLink.from_json(link.to_json()).environment == carried


def test_the_docs_show_the_table_as_the_code_applies_it():
    page = (Path(__file__).parent.parent / "docs" / "tracking.md").read_text()
    assert environment.markdown_table() in page
