"""What the MLflow UI shows of a run: dataset inputs, answer plots, the experiment's kind and
system metrics, read back from real SQLite stores written by the real `addexp`."""

from __future__ import annotations

import json

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from addexp.problems.space import space_from_config
from addexp.tracking import store as tracking
from addexp.tracking.datasets import ProblemSource, space_digest
from tests.conftest import TINY, addexp, compose


def _only_run(client: MlflowClient):
    experiment = client.get_experiment_by_name("addexp")
    (run,) = client.search_runs([experiment.experiment_id])
    return experiment, run


def _inputs(run) -> dict[str, object]:
    """context -> dataset input"""
    found = {}
    for item in run.inputs.dataset_inputs:
        tags = {t.key: t.value for t in item.tags}
        found[tags["mlflow.data.context"]] = item
    return found


@pytest.mark.slow
def test_fixed_run_logs_its_three_sets_plots_and_system_metrics(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.5")
    result = addexp(
        [
            *TINY,
            "train=fixed",
            "train.examples=50",
            "train.distinct=ordered",
            "train.val_fraction=0.2",
            "tracking.system_metrics=true",
            "tracking.log_model=false",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment, run = _only_run(client)
    assert experiment.tags[tracking.EXPERIMENT_KIND_TAG] == "custom_model_development"

    inputs = _inputs(run)
    assert set(inputs) == {"training", "validation", "test"}
    data = compose().data
    rows = {"training": 40, "validation": 10, "test": 50}
    for context, item in inputs.items():
        dataset = item.dataset
        assert dataset.name == f"addexp-{space_digest(OmegaConf.to_container(data))}"
        assert dataset.source_type == "addexp"
        assert json.loads(dataset.profile)["num_rows"] == rows[context]
        columns = [c["name"] for c in json.loads(dataset.schema)["mlflow_colspec"]]
        assert columns == ["question", "answer"]
        source = mlflow.data.get_source(item)  # resolved through the entry point
        assert isinstance(source, ProblemSource)
        assert source.load() == space_from_config(data)
        assert source.draw["seed"] == 1
    assert len({item.dataset.digest for item in inputs.values()}) == 3  # three different draws
    assert json.loads(inputs["test"].dataset.source)["draw"]["stream"] == 1
    assert json.loads(inputs["training"].dataset.source)["draw"]["regime"] == "fixed"

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"answer_positions.png", "answer_confusion.png", "learning_curves.png"} <= artifacts
    system = {k for k in run.data.metrics if k.startswith("system/")}
    assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= system


def test_fresh_run_logs_its_first_draw_and_tags_an_existing_experiment(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    client.create_experiment("addexp", artifact_location=(tmp_path / "mlruns").as_uri())
    result = addexp([*TINY, "train.examples=30", "tracking.log_model=false"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    experiment, run = _only_run(client)
    assert experiment.tags[tracking.EXPERIMENT_KIND_TAG] == "custom_model_development"
    assert not any(k.startswith("system/") for k in run.data.metrics)  # off by default

    inputs = _inputs(run)
    assert set(inputs) == {"training", "test"}
    training = inputs["training"]
    assert json.loads(training.dataset.profile)["num_rows"] == 30  # the first chunk: all 30
    draw = json.loads(training.dataset.source)["draw"]
    assert draw["examples_per_epoch"] == 30 and draw["epochs"] == 2 and draw["regime"] == "fresh"
    assert draw["rows"] == "epoch 0, chunk 0"
    tags = {t.key: t.value for t in training.tags}
    expected = (
        "the first chunk of epoch 1: 30 of its 30 problems (a new draw every epoch, 2 epochs)"
    )
    assert tags["rows"] == expected


def test_a_kind_chosen_in_the_ui_is_kept(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = MlflowClient()
    chosen = client.create_experiment(
        "mine",
        artifact_location=(tmp_path / "art").as_uri(),
        tags={tracking.EXPERIMENT_KIND_TAG: "finetuning"},
    )

    def opened(name: str) -> str:
        settings = OmegaConf.create({"uri": None, "experiment": name, "artifact_location": None})
        return tracking.open_store(settings, tmp_path).experiment_id

    assert opened("mine") == chosen
    assert client.get_experiment(chosen).tags[tracking.EXPERIMENT_KIND_TAG] == "finetuning"
    fresh = opened("new")
    assert client.get_experiment(fresh).tags[tracking.EXPERIMENT_KIND_TAG] == (
        tracking.EXPERIMENT_KIND
    )
