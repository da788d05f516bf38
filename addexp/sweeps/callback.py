"""Multirun tracking: one MLflow parent run per sweep, every job a child run under it.

A Hydra callback (`hydra.callbacks.mlflow_sweep` in conf/config.yaml) plans the sweep
(`addexp.sweeps.plan`), checks and opens the store and experiment once - so parallel jobs never
race to create them - resolving them to absolute values, opens the parent run, and hands all of it
to the jobs through their own Hydra config (`addexp.sweeps.link`). When the sweep ends it counts
the parent's children in that same store: how many jobs were planned, recorded, finished and
failed; a child still RUNNING lost its process and is ended FAILED. The parent ends FINISHED only
if every planned job finished; otherwise FAILED with the reason in its tag `error`, and addexp
exits 1.

On the console a sweep is its parent run, one line per job as it ends (`sweep job 1 of 4:
seed=1  test/exact_match 0.97  run ID`), warnings and errors, and the sweep's end; everything
else a job logs goes to its own log file in the sweep folder (`SweepConsole`, the console
handlers' filter in conf/config.yaml), sample answers not at all (a single run shows them).

Hydra only warns when a callback raises; so does this one never: anything that stops the parent
from opening ends the command (exit 2 for a sweep that cannot keep its promises, 1 otherwise)
before any job runs unlinked.
"""

from __future__ import annotations

import atexit
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from addexp.config.checks import ConfigError
from addexp.config.interpolation import resolved_key
from addexp.config.presets import run_preset
from addexp.evaluation.metrics import higher_is_better
from addexp.sweeps.link import SweepLink, carry_to_jobs
from addexp.sweeps.plan import conf_dir, job_values, plan
from addexp.tracking import environment, liveness
from addexp.tracking import store as tracking
from addexp.tracking.checks import check_experiment_name, check_model_name
from addexp.tracking.store_checks import StoreError
from addexp.training import faults

log = logging.getLogger("addexp")
BROKE_OFF = "the sweep stopped before all its jobs ran"
ON_SWEEP_CONSOLE = {"sweep": True}  # `extra` of an addexp record a sweep's console shows
# Hydra's launchers, whose `Launching N jobs` and `#0 : overrides` lines addexp's own job lines
# replace on the console.
LAUNCHERS = (
    "hydra._internal.core_plugins.basic_launcher",
    "hydra_plugins.hydra_joblib_launcher",
    "hydra_plugins.hydra_submitit_launcher",
    "hydra_plugins.hydra_ray_launcher",
)
# The loggers whose INFO lines a console shows: addexp's, Hydra's and its sweepers' (a search's
# study and sampler); a library's INFO (matplotlib's font cache on a first run, say) goes only
# to the job's log file.
SHOWN = ("addexp", "hydra", "__main__")


def verbose() -> bool:
    """Whether `hydra.verbose` names addexp's logger (or is true): then the console shows all."""
    return log.isEnabledFor(logging.DEBUG)


class SweepConsole(logging.Filter):
    """The console handlers' filter (`hydra.hydra_logging` and, with `jobs`, `hydra.job_logging`
    in conf/config.yaml): drops the launchers' INFO lines, every INFO line of a logger outside
    `SHOWN` (the libraries') and, inside a sweep's job, addexp's
    INFO records not marked ON_SWEEP_CONSOLE (its epochs, summaries and addresses, kept in the
    job's log file), so that jobs do not bury each other. A single run's console is whole;
    warnings, errors and `hydra.verbose` pass everything."""

    def __init__(self, jobs: bool = False) -> None:
        super().__init__()
        self.jobs = jobs

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or verbose():
            return True
        if record.name.startswith(LAUNCHERS) or not record.name.startswith(SHOWN):
            return False
        ours = record.name == "addexp" or record.name.startswith("addexp.")
        if not (self.jobs and ours) or getattr(record, "sweep", False):
            return True
        return not (HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN)


def _short(value: str) -> str:
    """Search-drawn floats read better short in a name (the param keeps the full value)."""
    try:
        return f"{float(value):.4g}" if "." in value else value
    except ValueError:
        return value


def child_name(job_overrides: list[str], keys: list[str] | tuple[str, ...]) -> str:
    """`train.batch_size=32,seed=1`: the job's values of the swept keys, in sweep order, each
    key plain (`++train.batch_size=32` names `train.batch_size`, `addexp.sweeps.plan.plain_key`)
    and each value as typed; "" when nothing was swept (`-m seed=3`), so the job takes the
    name a single run would."""
    values = job_values(job_overrides)
    return ",".join(f"{k}={_short(values[k])}" for k in keys if k in values)


class SweepParent:
    """The open parent run of a sweep, and how it ends."""

    def __init__(
        self,
        store: tracking.Store,
        run_id: str,
        sweep_dir: Path,
        jobs: int | None,
        register: str | None = None,
    ):
        self.store, self.run_id, self.sweep_dir, self.jobs = store, run_id, sweep_dir, jobs
        self.register = register  # `tracking.register`: the best child's model goes there
        self.heartbeat = liveness.Heartbeat(store.uri, run_id)
        self.ended = False

    def children(self) -> list:
        """The parent's child runs, in the parent's store and experiment."""
        from mlflow.tracking import MlflowClient

        query = f"tags.mlflow.parentRunId = '{self.run_id}'"
        return liveness.search_all(MlflowClient(self.store.uri), [self.store.experiment_id], query)

    def _register(self, client: Any, best: Any, reason: str | None) -> None:
        """The best child's model as a new version of `self.register`, alias `champion`; or,
        loudly, why nothing was registered (a sweep that did not finish every job, no ranked
        child, no logged model)."""
        from addexp.tracking.model_registry import CHAMPION, register

        why = reason or ("no child was ranked by its objective" if best is None else None)
        if why is None and not client.list_artifacts(best.info.run_id, "model"):
            why = "its best child logged no model"
        if why is not None:
            print(f"addexp: tracking.register={self.register}: nothing registered: {why}.",
                  file=sys.stderr)  # fmt: skip
            return
        objective = best.data.params["eval.objective"]
        tags = {
            "sweep.parent_run_id": self.run_id,
            "run_name": best.info.run_name,
            "objective": objective,
            "value": f"{best.data.metrics[objective]:g}",
        }
        made = register(self.store.uri, self.register, best.info.run_id, tags, CHAMPION)
        client.set_tag(self.run_id, "sweep.registered", made.uri)
        log.info(
            "sweep: the best child's model (%s, %s %s) is %s version %s, alias %s (%s)",
            best.info.run_name, objective, tags["value"], made.name, made.version, CHAMPION,
            made.uri, extra=ON_SWEEP_CONSOLE,
        )  # fmt: skip

    def finish(self, broke_off: bool) -> bool:
        """Count the children, mark the best, end the parent; True if every planned job finished."""
        from mlflow.tracking import MlflowClient

        if self.ended:
            return True
        self.ended = True
        self.heartbeat.stop()
        client = MlflowClient(self.store.uri)
        children = self.children()
        for child in children:
            if child.info.status == "RUNNING":  # every job has returned: this one lost its run
                client.set_tag(
                    child.info.run_id,
                    "error",
                    "lost: the job's process ended without closing its run (killed?)",
                )
                client.set_terminated(child.info.run_id, "FAILED")
        children = self.children()
        recorded = len(children)
        finished = sum(c.info.status == "FINISHED" for c in children)
        failed = recorded - finished
        missing = max(0, (self.jobs or 0) - recorded)
        counts = {
            "sweep.jobs": recorded,
            "sweep.finished": finished,
            "sweep.failed": failed,
            "sweep.missing": missing,
        }
        if self.jobs is not None:
            counts["sweep.planned"] = self.jobs
        for key, value in counts.items():
            client.set_tag(self.run_id, key, str(value))
            client.log_metric(self.run_id, key, value)
        best = _mark_best(client, self.run_id, children)
        results = self.sweep_dir / "optimization_results.yaml"  # Optuna's summary
        if results.exists():
            client.log_artifact(self.run_id, str(results))
        reason = _reason(broke_off, self.jobs, recorded, failed)
        if reason:
            client.set_tag(self.run_id, "error", reason)
        if self.register:
            self._register(client, best, reason)
        client.set_terminated(self.run_id, "FAILED" if reason else "FINISHED")
        log.info(
            "sweep: %d jobs, %d finished, %d failed",
            recorded,
            finished,
            failed,
            extra=ON_SWEEP_CONSOLE,
        )
        if reason and not recorded:
            print(
                f"addexp: no job of the sweep ran (the reason is above); its parent run "
                f"{self.run_id} ends FAILED with no children.",
                file=sys.stderr,
            )
        elif reason:
            print(
                f"addexp: {_summary(reason, failed, recorded)}; see the child runs of parent "
                f"{self.run_id} (tag `error`) and the job logs under {self.sweep_dir}.",
                file=sys.stderr,
            )
        return reason is None


def _reason(broke_off: bool, planned: int | None, recorded: int, failed: int) -> str | None:
    """Why a sweep ends FAILED (None: it did not)."""
    missing = max(0, (planned or 0) - recorded)
    if broke_off and (missing or (planned is None and not failed)):
        return BROKE_OFF
    if missing:
        return f"{missing} of {planned} jobs recorded no run"
    if failed:
        return f"{failed} of {recorded} jobs failed"
    return "the sweeper stopped with an error after its jobs ran" if broke_off else None


def _summary(reason: str, failed: int, recorded: int) -> str:
    if reason.endswith("jobs failed"):
        return f"{failed} of {recorded} sweep jobs failed"
    return reason


def _mark_best(client, parent_id: str, children: list) -> Any:
    """Tag the finished child with the best objective (each child's `eval.objective`, ranked in
    its metric's direction: `addexp.evaluation.metrics.higher_is_better`), and copy its value
    to the parent; returns that child (None: none is ranked). Children that disagree on the
    objective are not ranked."""
    finished = [c for c in children if c.info.status == "FINISHED"]
    objectives = {c.data.params.get("eval.objective") for c in finished}
    if len(objectives) != 1:
        return None
    objective = objectives.pop()
    scored = [c for c in finished if not math.isnan(c.data.metrics.get(objective, math.nan))]
    if not scored:
        return None
    sign = 1.0 if higher_is_better(objective) else -1.0
    best = max(scored, key=lambda c: sign * c.data.metrics[objective])
    client.set_tag(best.info.run_id, "sweep.best", "true")
    client.set_tag(parent_id, "sweep.best_run_id", best.info.run_id)
    client.set_tag(parent_id, "sweep.best_run_name", best.info.run_name)
    client.log_metric(parent_id, f"best/{objective}", best.data.metrics[objective])
    return best


def _report_stale(store: tracking.Store) -> None:
    """Runs of the experiment that MLflow shows RUNNING but whose process is gone."""
    from mlflow.tracking import MlflowClient

    runs = liveness.running_runs(MlflowClient(store.uri), [store.experiment_id])
    stale = [r for r in runs if liveness.judge(r).stale]
    if stale:
        print(
            f"addexp: note: {len(stale)} run(s) of experiment {store.experiment!r} show RUNNING "
            "but their processes are gone; they count as neither alive nor finished. "
            "`addexp-runs --stale --mark` ends them KILLED.",
            file=sys.stderr,
        )


def _job_run(parent_run_id: str, since_ms: int) -> str | None:
    """The id of the run this process started last, if it is a child of the sweep's parent
    started since `since_ms`: the run of the job that just ended (None: it recorded none)."""
    if "mlflow" not in sys.modules:  # the job ended before it could start a run
        return None
    import mlflow

    try:
        run = mlflow.last_active_run()
    except Exception:  # the line names no run rather than end the sweep
        return None
    if run is None or run.info.start_time < since_ms:
        return None
    return run.info.run_id if run.data.tags.get("mlflow.parentRunId") == parent_run_id else None


def _finish_at_exit(parent: SweepParent) -> None:
    """At exit: a parent not yet ended means the sweep itself broke off (a job that could not be
    composed, a sweeper that raised); end it FAILED with the counts rather than leave it RUNNING."""
    try:
        parent.finish(broke_off=True)
    except Exception as error:
        print(f"addexp: could not close the sweep's parent run: {error}", file=sys.stderr)


def _tracking_settings(config: DictConfig) -> DictConfig:
    """The store settings every job shares (`TRACKING_KEYS`), resolved here: the only values
    the controller resolves. Every other value, interpolations included, is resolved by its
    job, where `${hydra:job.num}` and the like have their values. Raises ConfigError."""
    return OmegaConf.create(
        {key.split(".", 1)[1]: resolved_key(config, key) for key in tracking.TRACKING_KEYS}
    )


class MlflowSweep(Callback):
    """Hydra callback that owns the sweep's parent run."""

    def __init__(self) -> None:
        self._parent: SweepParent | None = None
        self._job_started_ms = 0  # when the current job started (its run starts after)

    def __getstate__(self) -> dict:
        return {}  # launchers pickle the callbacks to their workers; a job needs no parent state

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            self._parent = self._open(config)
        except ConfigError as error:
            print(f"addexp: invalid sweep: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        except StoreError as error:
            print(f"addexp: tracking store unusable: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        except Exception as error:
            print(
                "addexp: the sweep could not open its MLflow parent run, so no job ran: "
                f"{type(error).__name__}: {error}",
                file=sys.stderr,
            )
            raise SystemExit(1) from None
        atexit.register(_finish_at_exit, self._parent)
        if "optuna" in sys.modules and not verbose():  # its own handler: `A new study created`
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)

    def _open(self, config: DictConfig) -> SweepParent:
        from mlflow.tracking import MlflowClient

        faults.install()  # a signal to the sweep's process ends its parent run, too
        sweep = plan(config)
        for note in sweep.notes:
            print(f"addexp: note: {note}", file=sys.stderr)
        launch_dir = Path(config.hydra.runtime.cwd).resolve()
        tracking_cfg = _tracking_settings(config)
        check_experiment_name(tracking_cfg.experiment)
        register = resolved_key(config, "tracking.register")
        check_model_name(register, bool(resolved_key(config, "tracking.log_model")))
        store = tracking.open_store(tracking_cfg, launch_dir)
        sweep_dir = (launch_dir / str(config.hydra.sweep.dir)).resolve()
        choices = config.hydra.runtime.choices
        swept_group = any(key in choices for key in sweep.keys)  # then no one preset is run
        preset = None if swept_group else run_preset(choices, conf_dir(config))
        label = preset or choices.get("experiment") or choices.get("model")
        name = f"sweep {label}: {', '.join(sweep.keys) or 'no keys'}"
        task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
        tags = {
            "sweep.command": " ".join(["addexp", *sys.argv[1:]]),
            "sweep.keys": ",".join(sweep.keys),
            "sweep.dir": str(sweep_dir),
            "sweep.launcher": str(config.hydra.launcher.get("_target_", "")),
            "sweep.sweeper": str(config.hydra.sweeper.get("_target_", "")),
            "sweep.overrides": " ".join(str(o) for o in task)[: tracking.MAX_TAG_CHARS],
            "preset": preset or "none",
            "mlflow.runName": name,
            **liveness.owner_tags(),
        }
        if sweep.notes:
            tags["sweep.notes"] = "\n".join(sweep.notes)[: tracking.MAX_TAG_CHARS]
        commit = tracking.git_commit(Path(__file__).parent)
        if commit:
            tags["mlflow.source.git.commit"] = commit
        _report_stale(store)
        client = MlflowClient(store.uri)
        parent = client.create_run(store.experiment_id, run_name=name, tags=tags)
        link = SweepLink(
            parent_run_id=parent.info.run_id,
            store=store,
            launch_dir=str(launch_dir),
            configured_artifact_location=tracking.resolve_artifact_location(
                tracking_cfg.artifact_location, launch_dir
            ),
            keys=tuple(sweep.keys),
            threads=sweep.threads,
            jobs=sweep.jobs,
            environment=environment.carried(),
        )
        try:
            carry_to_jobs(config, link, sweep_dir)
        except ValueError as error:  # a sweep folder Hydra's grammar cannot carry unchanged
            client.set_tag(parent.info.run_id, "error", str(error))
            client.set_terminated(parent.info.run_id, "FAILED")
            raise ConfigError(f"hydra.sweep.dir={sweep_dir}: {error}") from None
        log.info(
            "MLflow parent run %s (%s) in %s, %s jobs",
            parent.info.run_id,
            name,
            store.uri,
            sweep.jobs if sweep.jobs is not None else "an open number of",
            extra=ON_SWEEP_CONSOLE,
        )
        return SweepParent(store, parent.info.run_id, sweep_dir, sweep.jobs, register)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._job_started_ms = int(time.time() * 1000)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        """The job's one line as it ends: its number, its swept values, its objective (or that
        it failed: why is said above) and its run."""
        link = SweepLink.of_job(config.hydra)
        if link is None:
            return
        overrides = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
        name = child_name(overrides, link.keys) or " ".join(overrides) or "(no overrides)"
        value = job_return.return_value
        if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
            objective = OmegaConf.select(
                config, "eval.objective", throw_on_resolution_failure=False
            )
            outcome = f"{objective} {value:.4f}" if abs(value) < 1e6 else f"{objective} {value:.4g}"
        else:
            outcome = "failed"
        run_id = _job_run(link.parent_run_id, self._job_started_ms)
        log.info(
            "sweep job %d of %s: %s  %s  %s",
            config.hydra.job.num + 1,
            link.jobs or "?",
            name,
            outcome,
            f"run {run_id}" if run_id else "(no run recorded)",
            extra=ON_SWEEP_CONSOLE,
        )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._parent is None:
            return
        try:
            complete = self._parent.finish(broke_off=False)
        except Exception as error:
            print(
                f"addexp: the sweep's jobs ended, but its parent run could not be closed: "
                f"{type(error).__name__}: {error}",
                file=sys.stderr,
            )
            raise SystemExit(1) from None
        if not complete:
            raise SystemExit(1)
