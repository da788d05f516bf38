"""Everything MLflow: where runs go, what a run records, and how a failure is marked.

By default runs go to an SQLite store `mlflow.db` with artifacts under `mlruns/`, both absolute
paths in the folder addexp was launched from, so `mlflow ui` started there shows them. Relative
paths in `tracking.uri` and `tracking.artifact_location` resolve against that launch folder, never
against the folder a job happens to run in.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import mlflow
from mlflow.exceptions import MlflowException

from addexp.tracking import liveness
from addexp.tracking.store_checks import (
    StoreError,
    check_artifact_location,
    check_store,
    sqlite_path,
)

MAX_TAG_CHARS = 5000
# What the MLflow UI calls an experiment's kind; this one is model training ("Machine learning"),
# not GenAI apps (values in the UI's bundle: custom_model_development, genai_development, ...).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
TRACKING_KEYS = ("tracking.uri", "tracking.experiment", "tracking.artifact_location")


@dataclass(frozen=True)
class Store:
    """An opened MLflow store and experiment: what every run of a sweep shares."""

    uri: str  # tracking URI, absolute
    experiment_id: str
    experiment: str  # its name
    artifact_location: str | None  # where the experiment keeps artifacts (None: the server's)


def resolve_uri(uri: str | None, launch_dir: Path) -> str:
    """The tracking URI with relative local paths made absolute against `launch_dir`.

    None -> `sqlite:///<launch_dir>/mlflow.db`; `sqlite:///rel.db` -> `sqlite:////<launch>/rel.db`;
    `file:rel`, `rel/path` -> absolute; servers and other databases are returned unchanged.
    """
    launch_dir = launch_dir.resolve()
    if not uri:
        return f"sqlite:///{launch_dir / 'mlflow.db'}"
    if uri.startswith("sqlite:///"):
        path, _, query = uri.removeprefix("sqlite:///").partition("?")
        if path and path != ":memory:" and not path.startswith("/"):
            path = str(launch_dir / path)
        return f"sqlite:///{path}" + (f"?{query}" if query else "")
    local = _local_path(uri)
    if local is None:
        return uri
    return (launch_dir / local).as_uri() if uri.startswith("file:") else str(launch_dir / local)


def resolve_artifact_location(location: str | None, launch_dir: Path) -> str | None:
    """A configured artifact location with a relative local path made absolute (a file URI)."""
    if not location:
        return None
    local = _local_path(location)
    return (launch_dir.resolve() / local).as_uri() if local is not None else location


def _local_path(uri: str) -> Path | None:
    """The local path a `file:` URI or a bare path names (relative or not); None for others."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    return Path(uri) if parts.scheme == "" else None


def default_artifact_location(uri: str, launch_dir: Path) -> str | None:
    """Artifacts beside a local store go to `mlruns/` in the launch folder; a server chooses."""
    if uri.startswith("sqlite:") or _local_path(uri) is not None:
        return (launch_dir.resolve() / "mlruns").as_uri()
    return None


def open_store(tracking_cfg: Any, launch_dir: Path) -> Store:
    """Check the configured store, point MLflow at it, and open (or create) the experiment.

    Raises StoreError (one line naming the setting) when the store or the artifact location is
    unusable, before anything is written there. For an existing experiment its own artifact
    location is used; a different `tracking.artifact_location` is reported on stderr.
    """
    uri = resolve_uri(tracking_cfg.uri, launch_dir)
    check_store(uri)
    wanted = resolve_artifact_location(tracking_cfg.artifact_location, launch_dir)
    database = sqlite_path(uri)
    if database is not None and not database.exists():  # a new store: check before creating it
        check_artifact_location(wanted or default_artifact_location(uri, launch_dir))
    mlflow.set_tracking_uri(uri)
    name = tracking_cfg.experiment
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None and experiment.lifecycle_stage == "deleted":
        raise StoreError(
            f"tracking.experiment={name!r} is a deleted experiment in {uri}; restore it "
            f"(mlflow experiments restore --experiment-id {experiment.experiment_id}) or choose "
            "another name."
        )
    if experiment is None:
        location = wanted or default_artifact_location(uri, launch_dir)
        check_artifact_location(location)
        experiment_id = _create_experiment(name, location)
        experiment = mlflow.get_experiment(experiment_id)
    else:
        mark_model_training(experiment)
        location = experiment.artifact_location
        if wanted and not _same_location(wanted, location):
            print(
                f"addexp: tracking.artifact_location={tracking_cfg.artifact_location} is not "
                f"used: experiment {name!r} already keeps its artifacts at {location} (MLflow "
                "fixes an experiment's artifact location when it is created), so they go there; "
                "choose a new tracking.experiment to store them elsewhere.",
                file=sys.stderr,
            )
        check_artifact_location(location)
    return Store(uri, experiment.experiment_id, name, experiment.artifact_location)


def _same_location(a: str, b: str) -> bool:
    local_a, local_b = _local_path(a), _local_path(b)
    if local_a is not None and local_b is not None:
        return local_a.resolve() == local_b.resolve()
    return a.rstrip("/") == b.rstrip("/")


def _create_experiment(name: str, artifact_location: str | None) -> str:
    """Create the experiment; a concurrent creator (parallel jobs) is tolerated."""
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


def use_store(store: Store) -> str:
    """Point MLflow at an already opened store (a sweep's); return its experiment id."""
    mlflow.set_tracking_uri(store.uri)
    return store.experiment_id


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

    KeyboardInterrupt ends it KILLED (tag `error`: its message, or "interrupted"), so an
    interrupted run never looks like a good one. While it
    is open, the run carries its owner (host, pid) and a heartbeat (`addexp.tracking.liveness`), so
    a run
    whose process was killed outright can be told from one still going. `system_metrics`:
    MLflow samples CPU, memory, disk and network into `system/*` metrics (every
    MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL seconds, default 10); false leaves it to MLflow's
    own switch (MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING).
    """
    run = mlflow.start_run(
        experiment_id=experiment_id,
        run_name=run_name,
        tags={**tags, **liveness.owner_tags()},
        log_system_metrics=True if system_metrics else None,
    )
    heartbeat = liveness.Heartbeat(mlflow.get_tracking_uri(), run.info.run_id)
    try:
        yield run.info.run_id
    except KeyboardInterrupt as stop:
        heartbeat.stop()
        mlflow.set_tag("error", str(stop)[:MAX_TAG_CHARS] or "interrupted")
        mlflow.end_run(status="KILLED")
        raise
    except BaseException as error:
        heartbeat.stop()
        mlflow.set_tag("error", f"{type(error).__name__}: {error}"[:MAX_TAG_CHARS])
        mlflow.end_run(status="FAILED")
        raise
    heartbeat.stop()
    mlflow.end_run(status="FINISHED")


def ui_address(uri: str, experiment_id: str, run_id: str) -> str:
    """Where a person opens a run in the MLflow UI, on its model-training side (MLflow 3 opens
    experiments on its GenAI pages otherwise): the server's page for a server URI, else the
    `addexp-ui` command that serves the local store and prints the run's page when ready."""
    page = f"#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/{page}"
    return f"addexp-ui --uri {uri} --run {run_id}"


def log_epoch(epoch: int, metrics: dict[str, float]) -> None:
    mlflow.log_metrics(metrics, step=epoch)
