"""Multirun tracking: one MLflow parent run per sweep, every job a child run under it.

A Hydra callback opens the parent before any job starts (creating the experiment and the SQLite
schema once, so parallel jobs never race on them) and writes its id into the sweep folder, where
jobs find it, whichever launcher runs them. When the sweep ends it records how many children
finished and failed, and ends the parent FAILED if any did.
"""

from __future__ import annotations

import atexit
import json
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from addexp import faults, tracking

log = logging.getLogger("addexp")
SWEEP_FILE = "mlflow_sweep.json"


def swept_keys(task_overrides: list[str], sweeper_params: dict | None) -> list[str]:
    """Keys a sweep varies: command-line sweep overrides (a=1,2 / range / choice) and the
    sweeper's own `params` (presets and search spaces)."""
    parsed = OverridesParser.create().parse_overrides(list(task_overrides))
    keys = [o.get_key_element() for o in parsed if o.is_sweep_override()]
    for key in sweeper_params or {}:
        if key not in keys:
            keys.append(str(key))
    return keys


def _short(value: str) -> str:
    """Search-drawn floats read better short in a name (the param keeps the full value)."""
    try:
        return f"{float(value):.4g}" if "." in value else value
    except ValueError:
        return value


def child_name(job_overrides: list[str], keys: list[str]) -> str:
    """`train.batch_size=32,seed=1`: the job's values of the swept keys, in sweep order."""
    values = dict(o.split("=", 1) for o in job_overrides if "=" in o)
    named = [f"{k}={_short(values[k])}" for k in keys if k in values]
    return ",".join(named) or ",".join(job_overrides)


def read_sweep(sweep_dir: Path) -> dict | None:
    """What the sweep's callback wrote for its jobs (None outside a tracked sweep)."""
    path = sweep_dir / SWEEP_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _mark_best(client, parent_id: str, children: list, objective: str) -> None:
    """Tag the finished child with the highest objective, and copy its value to the parent."""
    scored = [c for c in children if c.info.status == "FINISHED" and objective in c.data.metrics]
    if not scored:
        return
    best = max(scored, key=lambda c: c.data.metrics[objective])
    client.set_tag(best.info.run_id, "sweep.best", "true")
    client.set_tag(parent_id, "sweep.best_run_id", best.info.run_id)
    client.set_tag(parent_id, "sweep.best_run_name", best.info.run_name)
    client.log_metric(parent_id, f"best/{objective}", best.data.metrics[objective])


def _fail_if_unfinished(uri: str, run_id: str) -> None:
    """At exit: a parent still RUNNING means the sweep itself broke off (a bad sweep override,
    an interrupt); end it FAILED rather than leave it looking alive."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    if client.get_run(run_id).info.status == "RUNNING":
        client.set_tag(run_id, "error", "the sweep stopped before all its jobs ran")
        client.set_terminated(run_id, "FAILED")


class MlflowSweep(Callback):
    """Hydra callback (conf/config.yaml, hydra.callbacks) that owns the sweep's parent run."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from mlflow.tracking import MlflowClient

        faults.install()  # a signal to the sweep's process ends its parent run, too

        uri, experiment_id = tracking.open_experiment(
            config.tracking, Path(config.hydra.runtime.cwd)
        )
        keys = swept_keys(list(config.hydra.overrides.task), config.hydra.sweeper.get("params"))
        sweep_dir = Path(config.hydra.sweep.dir)
        preset = config.hydra.runtime.choices.get("experiment")
        name = f"sweep {preset or config.model.name}: {', '.join(keys) or 'no keys'}"
        tags = {
            "sweep.command": " ".join(["addexp", *sys.argv[1:]]),
            "sweep.keys": ",".join(keys),
            "sweep.dir": str(sweep_dir.resolve()),
            "sweep.launcher": str(config.hydra.launcher.get("_target_", "")),
            "preset": preset or "none",
            "mlflow.runName": name,
        }
        commit = tracking.git_commit(Path(__file__).parent)
        if commit:
            tags["mlflow.source.git.commit"] = commit
        parent = MlflowClient(uri).create_run(experiment_id, run_name=name, tags=tags)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / SWEEP_FILE).write_text(
            json.dumps({"parent_run_id": parent.info.run_id, "keys": keys, "uri": uri})
        )
        log.info("MLflow parent run %s (%s)", parent.info.run_id, name)
        atexit.register(_fail_if_unfinished, uri, parent.info.run_id)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from mlflow.tracking import MlflowClient

        sweep = read_sweep(Path(config.hydra.sweep.dir))
        if sweep is None:
            return
        client = MlflowClient(sweep["uri"])
        parent = client.get_run(sweep["parent_run_id"])
        children = client.search_runs(
            [parent.info.experiment_id],
            f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
            max_results=50000,
        )
        statuses = [c.info.status for c in children]
        finished, failed = statuses.count("FINISHED"), len(statuses) - statuses.count("FINISHED")
        for key, value in (
            ("sweep.jobs", len(statuses)),
            ("sweep.finished", finished),
            ("sweep.failed", failed),
        ):
            client.set_tag(parent.info.run_id, key, str(value))
            client.log_metric(parent.info.run_id, key, value)
        _mark_best(client, parent.info.run_id, children, config.eval.objective)
        results = Path(config.hydra.sweep.dir) / "optimization_results.yaml"  # Optuna's summary
        if results.exists():
            client.log_artifact(parent.info.run_id, str(results))
        client.set_terminated(parent.info.run_id, "FAILED" if failed else "FINISHED")
        log.info("sweep: %d jobs, %d finished, %d failed", len(statuses), finished, failed)
        if failed:
            print(
                f"addexp: {failed} of {len(statuses)} sweep jobs failed; see the FAILED child "
                f"runs of parent {parent.info.run_id} (tag `error`) and their job logs.",
                file=sys.stderr,
            )
            raise SystemExit(1)
