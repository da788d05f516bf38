"""Shared fixtures: quiet TensorFlow, a real `addexp` command, Hydra composition, MLflow stores.

Every store, Hydra output folder and model lands under pytest's tmp_path, never in the repo.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
for _name in (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_RUN_CONTEXT",
    "MLFLOW_ACTIVE_MODEL_ID",
):
    os.environ.pop(_name, None)  # the shell's store, experiment or run never reaches a test

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "conf"
PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))

# Small enough to train in seconds on 2 cores, big enough to go through every stage.
TINY = ["train.epochs=2", "train.examples=64", "eval.examples=50", "eval.show=3"]


def logged_rows(uri: str, run_id: str, artifact: str, folder: Path) -> list[dict]:
    """The rows of a CSV artifact a run logged, downloaded into `folder`."""
    from mlflow.tracking import MlflowClient

    path = MlflowClient(uri).download_artifacts(run_id, artifact, str(folder))
    with open(path) as handle:
        return list(csv.DictReader(handle))


def predict_rows(
    uri: str, run_id: str, rows: list[dict], out: Path, *options: str
) -> tuple[int, list[dict]]:
    """`addexp-predict --file` (and `options`) on the questions and answers of logged
    prediction rows, its CSV written to `out`: (exit code, the rows it wrote)."""
    from addexp.cli import predict

    questions = out.with_name(out.stem + "_questions.csv")
    with questions.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "answer"])
        writer.writerows([r["input"], r["expected"]] for r in rows)
    args = ["--run", run_id, "--uri", uri, "--file", str(questions), "--format", "csv"]
    code = predict.main([*args, "--out", str(out), *options])
    if code != 0:
        return code, []
    with out.open() as handle:
        return code, list(csv.DictReader(handle))


def _command(
    args: list[str], extra_env: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The installed `addexp` console script with `args`, and its environment: none of the
    MLflow variables that choose a store, an experiment or a run is inherited from the shell
    running the tests (`extra_env` sets them for a test)."""
    from addexp.tracking.environment import IGNORED

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "HYDRA_FULL_ERROR": "0"}
    env["PYTHONFAULTHANDLER"] = "1"  # a process aborted by a test shows where it stood
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", *IGNORED):
        env.pop(name, None)
    env.update(extra_env or {})
    return [str(Path(sys.executable).with_name("addexp")), *args], env


def addexp(
    args: list[str], cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the installed `addexp` console script in `cwd` (where its store and outputs go), with
    the variables `env` added to its environment."""
    command, environ = _command(args, env)
    return subprocess.run(
        command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout
    )


def addexp_predict(
    args: list[str],
    cwd: Path | None = None,
    program: str = "addexp-predict",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """The real `addexp-predict` (or another reading console script, `program`); MLflow's
    tracking URI is not inherited (`--uri` names the store); `env` adds variables."""
    exe = Path(sys.executable).with_name(program)
    environ = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    environ.update(env or {})
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=environ
    )


def _sigint_as_in_a_terminal() -> None:
    """In the child before it runs addexp: SIGINT back to its default. A shell starting a job in
    the background makes it ignore SIGINT, the ignore is inherited, and addexp keeps a signal
    ignored that it found ignored; a test sending SIGINT wants a terminal's behaviour."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def end_group(process: subprocess.Popen, timeout: float) -> None:
    """End a process started in a session of its own, and its children: SIGTERM to its group,
    SIGKILL if it has not ended after `timeout` seconds."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_addexp(args: list[str], cwd: Path, program: str = "addexp") -> subprocess.Popen:
    """Start `program` (an installed console script, `addexp` unless said) in `cwd` without
    waiting (to send it signals); stdout and stderr piped."""
    command, env = _command(args)
    command[0] = str(Path(sys.executable).with_name(program))
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_as_in_a_terminal,
    )


def compose(overrides: list[str] | None = None, return_hydra_config: bool = False):
    """The config Hydra composes for `addexp` with these overrides (real Hydra, real files)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from addexp.cli.entry import register_schemas

    register_schemas()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return hydra_compose(
            "config", overrides=overrides or [], return_hydra_config=return_hydra_config
        )


@pytest.fixture
def store(tmp_path: Path) -> str:
    """URI of a fresh SQLite MLflow store in a temporary folder."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@contextmanager
def serve_mlflow(
    backend_store_uri: str, log: Path, timeout: float = 120, extra: tuple[str, ...] = ()
) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real `mlflow server` on a free loopback port over `backend_store_uri` (more server
    options in `extra`); yields its URL and process (a test may stop it early).

    Its output goes to `log`; it runs in a process group of its own, which is ended afterwards.
    The server's GenAI job runner (judges, trace roll-ups: seven worker processes) stays off.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = Path(sys.executable).with_name("mlflow")
    args = ["server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", *extra]
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(exe), *args, "--backend-store-uri", backend_store_uri],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"mlflow server did not come up; see {log}")
            time.sleep(0.5)
        yield url, server
    finally:
        if server.poll() is None:
            end_group(server, 10)
