"""The README's set-up command and five-minute tour, run as a reader runs them: in order, in an
empty folder, through the installed commands, with the console a new user sees (no
TF_CPP_MIN_LOG_LEVEL or MLflow variable set); every answer the tour promises is checked."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import end_group

README = Path(__file__).parent.parent / "README.md"


def _block(after: str) -> list[str]:
    """The lines of the first ```bash block under the heading `after`, comments kept."""
    text = README.read_text().split(f"## {after}\n", 1)[1]
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def _setup_run() -> str:
    """What command 1 runs after installing: the part after its last `&&`."""
    first = next(line for line in _block("Set-up: two commands") if not line.startswith("#"))
    return first.rsplit("&& ", 1)[1]


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TF_CPP"))}
    return {**env, "HYDRA_FULL_ERROR": "0"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(line: str, folder: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        shlex.split(line), cwd=folder, env=_environment(), capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, f"{line}\n{done.stderr[-3000:]}"
    return done


def _ui(line: str, folder: Path) -> None:
    """`addexp-ui` (on a free port: 5000 may be taken here): it prints its link once the UI
    answers, the link answers, and Ctrl-C ends it."""
    ui = subprocess.Popen(
        [*shlex.split(line), "--port", str(_free_port())], cwd=folder, env=_environment(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        said = [ui.stdout.readline()]  # what it says while MLflow's server starts, then the link
        while said[-1] and not re.search(r"http://\S+", said[-1]):
            said.append(ui.stdout.readline())
        link = re.search(r"http://\S+", said[-1])
        assert link, said
        with urllib.request.urlopen(link.group(0), timeout=30) as page:
            assert page.status == 200
    finally:
        os.killpg(ui.pid, signal.SIGINT)
        ui.wait(timeout=60)


def _predict(line: str, folder: Path) -> None:
    """Each answer the comment quotes (`"7+10 17"`) is what the run answers; a question outside
    the training space gets its answer line and the one note beside it."""
    done = _run(line.split("#")[0], folder)
    comment = line.split("#", 1)[1]
    promised = re.findall(r'"([^"]+ -?\d+)"', comment)
    answers = done.stdout.splitlines()
    if promised:
        assert answers == promised, (answers, promised)
        assert done.stderr == ""
    else:
        assert len(answers) == 1 and re.fullmatch(r"12\+50 -?\d+", answers[0]), answers
        notes = done.stderr.splitlines()
        assert len(notes) == 1 and "go beyond what the run trained on" in notes[0], notes


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path):
    trained = _run(_setup_run(), tmp_path)
    assert "test: exact_match" in trained.stdout + trained.stderr
    for line in _block("A five-minute tour"):
        command = line.split("#")[0].strip()
        if command.startswith("addexp-ui"):
            _ui(command, tmp_path)
        elif command.startswith("addexp-predict"):
            _predict(line, tmp_path)
        elif command.startswith("addexp-compare"):
            table = _run(command, tmp_path).stdout
            assert re.search(r"\| tutorial_seq2seq \| 3 \| ", table), table
        else:
            _run(command, tmp_path)


def _served(line: str, folder: Path, port: int) -> subprocess.Popen:
    """The README's `... mlflow models serve ... -p 5001 &` line on a free port, once it answers."""
    command = line.split("#")[0].strip().removesuffix("&").replace("-p 5001", f"-p {port}")
    server = subprocess.Popen(
        ["bash", "-c", command], cwd=folder, env=_environment(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    for _ in range(360):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return server
        except OSError:
            assert server.poll() is None, "mlflow models serve ended"
            time.sleep(0.5)
    raise AssertionError("mlflow models serve did not answer")


@pytest.mark.slow
def test_the_readme_s_model_section_runs_as_written(tmp_path):
    # in a folder of its own: the sweep registers its best child, which every way answers
    port, server = _free_port(), None
    try:
        for line in _block("A trained model, from MLflow alone"):
            command = line.split("#")[0].strip()
            if command.endswith("&"):
                server = _served(command, tmp_path, port)
                continue
            command = command.replace("localhost:5001", f"127.0.0.1:{port}")
            done = subprocess.run(
                ["bash", "-c", command], cwd=tmp_path, env=_environment(), capture_output=True,
                text=True, timeout=900,
            )  # fmt: skip
            assert done.returncode == 0, f"{command}\n{done.stderr[-3000:]}"
            if command.startswith("addexp-predict"):
                assert done.stdout == "7+10 17\n", done.stdout
            elif command.startswith("python"):
                assert re.search(r"7\+10\s+17\s+False", done.stdout), done.stdout
                assert re.search(r"3\+9\s+12\s+False", done.stdout), done.stdout
                assert "I0000" not in done.stderr and "oneDNN" not in done.stderr, done.stderr
            elif command.startswith("curl"):
                answer = json.loads(done.stdout)["predictions"][0]
                assert answer["question"] == "7+10" and answer["answer"] == "17", answer
        assert server is not None
    finally:
        if server is not None:
            end_group(server, 30)
