"""Everything MLflow: where runs go, what a run records, and how a failure is marked.

By default runs go to an SQLite store `mlflow.db` with artifacts under `mlruns/`, both absolute
paths in the folder addexp was launched from, so `mlflow ui` started there shows them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException

MAX_TAG_CHARS = 5000
# What the MLflow UI calls an experiment's kind; this one is model training ("Machine learning"),
# not GenAI apps (values in the UI's bundle: custom_model_development, genai_development, ...).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def resolve_uri(uri: str | None, launch_dir: Path) -> str:
    """The tracking URI: the configured one, or SQLite `mlflow.db` in the launch folder."""
    return uri or f"sqlite:///{(launch_dir / 'mlflow.db').resolve()}"


def default_artifact_location(uri: str, configured: str | None, launch_dir: Path) -> str | None:
    """Artifacts beside a local store go to `mlruns/` there; a server chooses its own."""
    if configured:
        return configured
    if uri.startswith(("sqlite:", "file:", "/")):
        return (launch_dir / "mlruns").resolve().as_uri()
    return None


def open_experiment(tracking_cfg: Any, launch_dir: Path) -> tuple[str, str]:
    """Point MLflow at the configured store and return (tracking URI, experiment id)."""
    uri = resolve_uri(tracking_cfg.uri, launch_dir)
    mlflow.set_tracking_uri(uri)
    location = default_artifact_location(uri, tracking_cfg.artifact_location, launch_dir)
    return uri, ensure_experiment(tracking_cfg.experiment, location)


def ensure_experiment(name: str, artifact_location: str | None) -> str:
    """Id of the named experiment, creating it once (a concurrent creator is tolerated)."""
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        mark_model_training(experiment)
        return experiment.experiment_id
    try:
        return mlflow.create_experiment(
            name, artifact_location=artifact_location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
        )
    except MlflowException:
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def mark_model_training(experiment: mlflow.entities.Experiment) -> None:
    """Tag an experiment as model training for the MLflow UI, unless it already has a kind
    (a kind someone chose in the UI is kept)."""
    if EXPERIMENT_KIND_TAG not in experiment.tags:
        mlflow.MlflowClient().set_experiment_tag(
            experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND
        )


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> {"data.terms": "2", ...}; lists stay whole ("[100]") as one param."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = "null" if value is None else str(value)
    return flat


def git_commit(folder: Path) -> str | None:
    """Commit of the git work tree holding `folder`, if there is one."""
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@contextmanager
def tracked_run(
    experiment_id: str, run_name: str, tags: dict[str, str], system_metrics: bool = False
) -> Iterator[str]:
    """An MLflow run that ends FINISHED, or FAILED with the error as tag `error` if anything raises.

    KeyboardInterrupt ends it KILLED, so an interrupted run never looks like a good one.
    `system_metrics`: MLflow samples CPU, memory, disk and network into `system/*` metrics
    (every MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL seconds, default 10); false leaves it to
    MLflow's own switch (MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING).
    """
    run = mlflow.start_run(
        experiment_id=experiment_id,
        run_name=run_name,
        tags=tags,
        log_system_metrics=True if system_metrics else None,
    )
    try:
        yield run.info.run_id
    except KeyboardInterrupt:
        mlflow.set_tag("error", "interrupted")
        mlflow.end_run(status="KILLED")
        raise
    except BaseException as error:
        message = f"{type(error).__name__}: {error}"[:MAX_TAG_CHARS]
        mlflow.set_tag("error", message)
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")


def ui_address(uri: str, experiment_id: str, run_id: str) -> str:
    """Where a person opens a run in the MLflow UI, on its model-training side (MLflow 3 opens
    experiments on its GenAI pages otherwise): the server's page for a server URI, else the
    `mlflow ui` command for the local store and the page it serves by default."""
    page = f"#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/{page}"
    return f"mlflow ui --backend-store-uri {uri}  then  http://127.0.0.1:5000/{page}"


def log_epoch(epoch: int, metrics: dict[str, float]) -> None:
    mlflow.log_metrics(metrics, step=epoch)
