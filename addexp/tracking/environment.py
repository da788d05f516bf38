"""What MLflow's environment variables may do to addexp's runs: one table, applied alike by every
command, by a sweep's controller and by each of its jobs.

MLflow reads its variables wherever it runs. Most only tune how it talks to a store, and are
left to it. Some would decide *which run* addexp writes into: `MLFLOW_RUN_ID` makes
`mlflow.start_run` reopen that run, rename it and overwrite its status, so a shell left with
it set after `mlflow run` or a parent script would have addexp take over a finished run.
addexp writes only into runs it opens itself (`train.resume` continues a run in a new one), so
those are removed from the process's environment before MLflow can read them, with a one-line
note. Where runs go is addexp's config: `MLFLOW_TRACKING_URI` and `MLFLOW_EXPERIMENT_NAME`
are the defaults of `tracking.uri` and `tracking.experiment` (`TrackingConfig`, as
`${oc.env:...}`), resolved once by a sweep's controller and handed to every job with the store.

A sweep's controller hands its own values of the `CARRIED` variables to every job (through
the sweep link), so a job on another machine (a Ray cluster) behaves as the controller does;
credentials are never written into a config and stay each process's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Variable:
    """One variable of the table: what MLflow does with it and what addexp does."""

    name: str
    mlflow: str  # what MLflow does with it
    addexp: str  # what addexp does with it (for an ignored one: why, as its note says)
    ignored: bool = False  # removed from the environment (with a note), never read
    carried: bool = False  # the sweep controller's value is every job's

    @property
    def policy(self) -> str:
        """What addexp does with it, as the table in docs/tracking.md says."""
        if not self.ignored:
            return self.addexp
        return f"{_IGNORED}: {self.addexp}" if self.addexp else _IGNORED


_IGNORED = "ignored: removed from the environment before MLflow reads it, with a note"
_CARRIED = "honoured; a sweep's jobs get the controller's value"
_OWN = "honoured, each process's own (never written into a config: a secret)"

TABLE = (
    Variable(
        "MLFLOW_TRACKING_URI",
        "the tracking store",
        "the default of `tracking.uri` (and of `--uri` of the other commands); an explicit "
        "`tracking.uri` wins; a sweep's jobs use the controller's store",
    ),
    Variable(
        "MLFLOW_EXPERIMENT_NAME",
        "the experiment of new runs",
        "the default of `tracking.experiment` (and of `addexp-compare --experiment`)",
    ),
    Variable(
        "MLFLOW_RUN_ID",
        "`start_run` reopens that run: renames it, sets its status",
        "addexp opens its own runs (`train.resume` continues one in a new run)",
        ignored=True,
    ),
    Variable(
        "MLFLOW_EXPERIMENT_ID",
        "the experiment of new runs, by id",
        "experiments are chosen by name (`tracking.experiment`)",
        ignored=True,
    ),
    Variable(
        "MLFLOW_RUN_CONTEXT",
        "JSON tags added to every new run (`mlflow.parentRunId` would attach it to a run)",
        "addexp tags its runs itself",
        ignored=True,
    ),
    Variable(
        "MLFLOW_ACTIVE_MODEL_ID",
        "links logged models and traces to that model",
        "a run's model is its own",
        ignored=True,
    ),
    Variable(
        "_MLFLOW_ACTIVE_MODEL_ID",
        "MLflow's internal form of MLFLOW_ACTIVE_MODEL_ID",
        "",
        ignored=True,
    ),
    Variable("MLFLOW_WORKSPACE", "the workspace of a server's runs", _CARRIED, carried=True),
    Variable("MLFLOW_REGISTRY_URI", "the model registry", _CARRIED, carried=True),
    Variable(
        "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING",
        "system metrics for every run",
        f"{_CARRIED} (`tracking.system_metrics=true` turns them on as well)",
        carried=True,
    ),
    Variable(
        "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL",
        "seconds between system metric samples",
        _CARRIED,
        carried=True,
    ),
    Variable(
        "MLFLOW_ENABLE_ASYNC_LOGGING", "logs metrics in the background", _CARRIED, carried=True
    ),
    Variable(
        "MLFLOW_HTTP_REQUEST_TIMEOUT", "seconds a server request may take", _CARRIED, carried=True
    ),
    Variable(
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "retries of a server request", _CARRIED, carried=True
    ),
    Variable("MLFLOW_TRACKING_INSECURE_TLS", "skips TLS verification", _CARRIED, carried=True),
    Variable("MLFLOW_TRACKING_SERVER_CERT_PATH", "the server's CA bundle", _CARRIED, carried=True),
    Variable(
        "MLFLOW_TRACKING_CLIENT_CERT_PATH", "the client's certificate", _CARRIED, carried=True
    ),
    Variable(
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR",
        "progress bars while artifacts move",
        f"{_CARRIED}; addexp sets false unless it is set",
        carried=True,
    ),
    Variable(
        "MLFLOW_LOGGING_LEVEL",
        "the level of MLflow's own log",
        f"{_CARRIED}; addexp sets WARNING unless it is set or `-v` asks for MLflow's lines",
        carried=True,
    ),
    Variable(
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT",
        "no `View run ... at` lines",
        f"{_CARRIED}; addexp sets true unless it is set (it prints a run's address itself)",
        carried=True,
    ),
    Variable("MLFLOW_TRACKING_USERNAME", "basic-auth user", _OWN),
    Variable("MLFLOW_TRACKING_PASSWORD", "basic-auth password", _OWN),
    Variable("MLFLOW_TRACKING_TOKEN", "bearer token", _OWN),
)
VARIABLES = {v.name: v for v in TABLE}
IGNORED = tuple(v.name for v in TABLE if v.ignored)
CARRIED = tuple(v.name for v in TABLE if v.carried)


def ignore(environ: MutableMapping[str, str] | None = None, program: str = "addexp") -> None:
    """Remove the `IGNORED` variables from `environ` (the process's), a note on stderr for each
    one that was set, so MLflow never reads them here or in a process started from here."""
    environ = os.environ if environ is None else environ
    for name in IGNORED:
        value = environ.pop(name, None)
        if value is not None:
            reason = VARIABLES[name].addexp
            because = f": {reason}" if reason else ""
            print(f"{program}: note: {name}={value} is ignored{because}.", file=sys.stderr)


def carried(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """The `CARRIED` variables set in `environ` (the sweep controller's), for its jobs."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in CARRIED if name in environ}


def adopt(values: dict[str, str], environ: MutableMapping[str, str] | None = None) -> None:
    """Make `environ` (a sweep job's) hold exactly the controller's `CARRIED` `values`."""
    environ = os.environ if environ is None else environ
    for name in CARRIED:
        if name in values:
            environ[name] = values[name]
        else:
            environ.pop(name, None)


def default_uri() -> str:
    """The store a command reads or writes when none is named: `MLFLOW_TRACKING_URI` if set,
    else `mlflow.db` in the current folder; local paths absolute."""
    from addexp.tracking.store import resolve_uri

    return resolve_uri(os.environ.get("MLFLOW_TRACKING_URI"), Path.cwd())


def default_experiment() -> str:
    """The experiment a command reads when none is named: `MLFLOW_EXPERIMENT_NAME`, or addexp."""
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or "addexp"


URI_HELP = "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here)"
EXPERIMENT_HELP = "MLflow experiment (default: $MLFLOW_EXPERIMENT_NAME, else addexp)"


def markdown_table() -> str:
    """The table as docs/tracking.md shows it (a test keeps the two the same)."""
    rows = ["| Variable | MLflow | addexp |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.mlflow} | {v.policy} |" for v in TABLE]
    return "\n".join(rows)
