"""`addexp-ui` as a user runs it: the real command starting MLflow's real server over an SQLite
store made here with MLflow's client (a run, a metric, an artifact; nothing is trained), the
printed link opened, Ctrl-C; and the command lines it refuses before anything starts.

Every store and folder is under tmp_path; each server listens on a free loopback port.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from mlflow.tracking import MlflowClient

from addexp.cli import ui
from tests.conftest import start_addexp

EXE = Path(sys.executable).with_name("addexp-ui")
LINE = re.compile(r"^addexp-ui: MLflow UI on (\S+) at (\S+)  \(Ctrl-C stops it\)$")
READY_SECONDS = 240  # a loaded 2-core machine; ready in well under a minute otherwise


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """A store as addexp leaves it: `mlflow.db` with `mlruns/` beside it, one finished run of
    experiment addexp with a metric and an artifact."""
    folder = tmp_path_factory.mktemp("ui")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("addexp", artifact_location=(folder / "mlruns").as_uri())
    run = client.create_run(experiment, run_name="seed-1").info.run_id
    client.log_metric(run, "test/exact_match", 0.75)
    note = folder / "note.txt"
    note.write_text("predicted 1+1=2\n")
    client.log_artifact(run, str(note))
    client.set_terminated(run)
    return {"folder": folder, "uri": uri, "experiment": experiment, "run": run}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return start_addexp(args, cwd, program="addexp-ui")


def first_line(process: subprocess.Popen) -> str:
    """The first line the command prints on stdout (waiting at most READY_SECONDS)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=READY_SECONDS).rstrip("\n")
    except queue.Empty:
        process.kill()
        pytest.fail(f"addexp-ui printed nothing in {READY_SECONDS} s")


def get(url: str, data: dict | None = None) -> bytes:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return response.read()


def refused(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.run(
        [str(EXE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def test_serves_the_store_here_prints_a_working_link_and_stops_on_ctrl_c(store):
    port = free_port()
    process = start(["--port", str(port), "--run", store["run"]], cwd=store["folder"])
    line = first_line(process)
    match = LINE.match(line)
    assert match, line
    assert match[1] == store["uri"]  # no --uri: mlflow.db in the folder it runs in
    root = f"http://127.0.0.1:{port}"
    page = "?workflowType=machine_learning"
    assert match[2] == f"{root}/#/experiments/{store['experiment']}/runs/{store['run']}{page}"

    assert b"<html" in get(f"{root}/").lower()  # the UI itself
    experiments = json.loads(get(f"{root}/api/2.0/mlflow/experiments/search?max_results=10"))
    assert "addexp" in [e["name"] for e in experiments["experiments"]]
    found = json.loads(get(f"{root}/api/2.0/mlflow/runs/search", {"experiment_ids": ["1"]}))
    assert [r["info"]["run_id"] for r in found["runs"]] == [store["run"]]
    listed = json.loads(get(f"{root}/ajax-api/2.0/mlflow/artifacts/list?run_id={store['run']}"))
    assert [f["path"] for f in listed["files"]] == ["note.txt"]
    artifact = get(f"{root}/get-artifact?path=note.txt&run_uuid={store['run']}")
    assert artifact == b"predicted 1+1=2\n"  # what the UI's Artifacts tab shows
    experiment_page = ui.link(root, experiment="addexp")
    assert experiment_page == f"{root}/#/experiments/{store['experiment']}/runs{page}"
    with pytest.raises(ui.UsageError, match="--experiment 'nope'"):
        ui.link(root, experiment="nope")

    server = psutil.Process(process.pid).children(recursive=True)
    assert server, "no server process under addexp-ui"
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 130
    stderr = process.stderr.read()
    assert "Traceback" not in stderr, stderr
    _, alive = psutil.wait_procs(server, timeout=5)
    assert not alive, alive
    with socket.socket() as probe:  # nothing listens there any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_port_in_use_is_refused_with_one_line(store):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = refused(["--uri", store["uri"], "--port", str(port)], cwd=store["folder"])
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    [message] = result.stderr.splitlines()
    assert f"port {port} is in use" in message and "--port" in message


def test_a_folder_without_a_store_is_refused_and_none_is_created(tmp_path):
    result = refused([], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    [message] = result.stderr.splitlines()
    assert message.startswith(f"addexp-ui: no MLflow store at sqlite:///{tmp_path}/mlflow.db")
    assert "addexp" in message
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_dies_at_start_is_reported_with_its_last_lines(tmp_path):
    """A store whose schema MLflow cannot migrate: its server ends before it serves."""
    database = tmp_path / "mlflow.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES ('0123456789ab')")
    started = time.monotonic()
    result = refused(["--port", str(free_port())], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "MLflow's server stopped before it was ready" in result.stderr
    assert "0123456789ab" in result.stderr  # MLflow's own words, from its last lines
    assert "Traceback" not in result.stderr.split("its last lines:")[0]
    assert time.monotonic() - started < 180


def test_a_server_store_is_refused(tmp_path):
    result = refused(["--uri", "http://127.0.0.1:1"], cwd=tmp_path)
    assert result.returncode == 2
    assert "is an MLflow server already" in result.stderr


def test_links_use_an_address_a_browser_reaches():
    assert ui.address("0.0.0.0", 5000) == "http://127.0.0.1:5000"
    assert ui.address("::", 5000) == "http://[::1]:5000"
    assert ui.address("localhost", 8080) == "http://localhost:8080"
    command = ui.server_command("sqlite:////data/mlflow.db", "192.168.1.7", 5001)
    assert command[command.index("--artifacts-destination") + 1] == "/data/mlruns"
    assert "192.168.1.7:5001" in command[command.index("--allowed-hosts") + 1]
    assert "--allowed-hosts" not in ui.server_command("sqlite:////d/m.db", "127.0.0.1", 5000)
