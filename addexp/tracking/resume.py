"""`addexp train.resume=RUN_ID`: continue a run from its last logged checkpoint, in a new run.

The run to resume must be in the configured store and have been made with the same config, up to
`RESUME_FREE_KEYS` (`train.epochs` may grow; tracking keys, `train.verbose`,
`train.checkpoint_every` and `eval.show` may change). Everything is checked before the new run
opens, without TensorFlow. The new run is tagged `resumed_from` (the run id) and
`resumed_epochs` (epochs taken from the checkpoint); the metrics of those epochs are copied into
it from the checkpoint at their own steps, so it holds the whole learning curve on its own.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from addexp.config.checks import ConfigError
from addexp.config.schema import RESUME_FREE_KEYS
from addexp.training.checkpoints import ARTIFACT_DIR, STATE, Progress, read_progress

log = logging.getLogger("addexp")


@dataclass(frozen=True)
class Source:
    """The run a resumed run continues: id, store, status, its checkpoint's progress and, once
    fetched, the local folder holding that checkpoint."""

    run_id: str
    uri: str
    status: str
    progress: Progress
    checkpoint: Path | None = None


def _free(key: str) -> bool:
    return any(key == k or (k.endswith(".") and key.startswith(k)) for k in RESUME_FREE_KEYS)


def schema_defaults(cfg: DictConfig) -> dict[str, str]:
    """The schema's flat defaults for a config of `cfg`'s family (the run's keys and its model
    family's): what a key that a run's logged config predates meant when it was trained, since
    a key is added with the default that keeps what was done before."""
    from addexp.config.schema import AddexpConfig, flatten
    from addexp.models import FAMILIES

    schema = OmegaConf.to_container(OmegaConf.structured(AddexpConfig), resolve=False)
    schema.pop("model")
    schema.pop("tracking")  # free to change, and its defaults read the environment
    name = cfg.get("model", {}).get("name")
    if name in FAMILIES:
        schema["model"] = OmegaConf.to_container(OmegaConf.structured(FAMILIES[name].schema))
    return flatten(schema)


def differing_keys(old: DictConfig, new: DictConfig) -> dict[str, tuple[str, str]]:
    """Flat keys whose values differ between two resolved configs (a key only one has counts,
    shown as `<absent>`; a key the old config predates reads as its schema default,
    `schema_defaults`), leaving out `RESUME_FREE_KEYS`: {key: (old value, new value)}."""
    from addexp.config.schema import flatten

    a = {**schema_defaults(old), **flatten(OmegaConf.to_container(old, resolve=True))}
    b = flatten(OmegaConf.to_container(new, resolve=True))
    return {
        k: (a.get(k, "<absent>"), b.get(k, "<absent>"))
        for k in sorted(a.keys() | b.keys())
        if a.get(k) != b.get(k) and not _free(k)
    }


def check(cfg: DictConfig, launch_dir: Path) -> Source:
    """The run `train.resume` names, checked: it exists in the configured store, was made with
    the same config but for `RESUME_FREE_KEYS`, has a checkpoint, and `train.epochs` is at least
    the epochs it completed. Raises ConfigError (one paragraph naming what differs) otherwise."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from addexp.tracking.logged_run import RunError, open_run
    from addexp.tracking.store import resolve_uri

    key = f"train.resume={cfg.train.resume}"
    try:
        logged = open_run(cfg.train.resume, resolve_uri(cfg.tracking.uri, launch_dir))
    except RunError as error:
        raise ConfigError(f"{key}: {error}") from None
    differ = differing_keys(logged.cfg, cfg)
    if differ:
        listed = "; ".join(f"{k}: {old} there, {new} here" for k, (old, new) in differ.items())
        free = ", ".join(k + "*" if k.endswith(".") else k for k in RESUME_FREE_KEYS)
        raise ConfigError(
            f"{key}: that run was trained with another configuration ({listed}). A resumed run "
            f"may change only {free}; give the other keys the run's values, or start a new run."
        )
    with tempfile.TemporaryDirectory() as folder:
        try:
            state = MlflowClient(logged.uri).download_artifacts(
                logged.run_id, f"{ARTIFACT_DIR}/{STATE}", folder
            )
            progress = read_progress(Path(state).parent)
        except (MlflowException, OSError, ValueError):
            raise ConfigError(
                f"{key}: run {logged.run_id} has no checkpoint to resume from (it stopped "
                "before its first epoch ended, or was made by an addexp that wrote none or "
                "drew its training data differently)."
            ) from None
    if cfg.train.epochs < progress.epochs_done:
        raise ConfigError(
            f"train.epochs={cfg.train.epochs} is fewer than the {progress.epochs_done} epochs run "
            f"{logged.run_id} completed; set train.epochs >= {progress.epochs_done}."
        )
    return Source(logged.run_id, logged.uri, logged.status, progress)


def fetch(cfg: DictConfig, launch_dir: Path, folder: Path) -> Source:
    """`check`, then download the run's checkpoint into `folder` (its `checkpoint`). A run still
    RUNNING is resumed too (its process may have been killed outright), with a warning."""
    from mlflow.tracking import MlflowClient

    source = check(cfg, launch_dir)
    if source.status == "RUNNING":
        log.warning("run %s is still marked RUNNING; resuming its last checkpoint", source.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    MlflowClient(source.uri).download_artifacts(source.run_id, ARTIFACT_DIR, str(folder))
    return replace(source, checkpoint=folder / ARTIFACT_DIR)


def tags(source: Source) -> dict[str, str]:
    """Tags of the resumed run naming the run and the epochs it continues."""
    return {"resumed_from": source.run_id, "resumed_epochs": str(source.progress.epochs_done)}


def copy_history(run_id: str, history: list[dict[str, Any]]) -> None:
    """Log the checkpoint's per-epoch metrics to run `run_id` at their steps (epoch 0, 1, ...)."""
    import time

    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    now = int(time.time() * 1000)
    metrics = [
        Metric(key, value, now, step)
        for step, epoch in enumerate(history)
        for key, value in epoch.items()
    ]
    client = MlflowClient()
    for start in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics per batch
        client.log_batch(run_id, metrics=metrics[start : start + 1000])
