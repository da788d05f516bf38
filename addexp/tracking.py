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
        return experiment.experiment_id
    try:
        return mlflow.create_experiment(name, artifact_location=artifact_location)
    except MlflowException:
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


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
def tracked_run(experiment_id: str, run_name: str, tags: dict[str, str]) -> Iterator[str]:
    """An MLflow run that ends FINISHED, or FAILED with the error as tag `error` if anything raises.

    KeyboardInterrupt ends it KILLED (tag `error`: its message, or "interrupted"), so an
    interrupted run never looks like a good one.
    """
    run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags)
    try:
        yield run.info.run_id
    except KeyboardInterrupt as stop:
        mlflow.set_tag("error", str(stop)[:MAX_TAG_CHARS] or "interrupted")
        mlflow.end_run(status="KILLED")
        raise
    except BaseException as error:
        message = f"{type(error).__name__}: {error}"[:MAX_TAG_CHARS]
        mlflow.set_tag("error", message)
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")


def log_epoch(epoch: int, metrics: dict[str, float]) -> None:
    mlflow.log_metrics(metrics, step=epoch)
