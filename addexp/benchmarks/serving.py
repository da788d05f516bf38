"""Serving: a run's logged model behind `mlflow models serve`, and loaded by MLflow in Python.

A real (tiny) run of the tutorial logs its model into a scratch store; then, for the model
MLflow serves (`mlflow models serve -m runs:/ID/model --env-manager local`, one worker, on
loopback): the cold start (process start to its first answer), the latency of single-question
requests (`POST /invocations`, one connection each, as `curl` makes them; p50 and p95 of
`REQUESTS`), and the throughput of requests of `BATCH` questions; and for the model loaded in
this process (`mlflow.pyfunc.load_model`), the latency of `predict` on one question, the floor
under every served request. Cold starts are repeated; every served and loaded answer to
`QUESTION` must be the run's own (`addexp-predict`'s), or the section fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from addexp.benchmarks.inference import QUESTION, Stored, trained_run
from addexp.benchmarks.measure import Stat, child_env, console_script, run_process
from addexp.benchmarks.report import Section, Table
from addexp.benchmarks.settings import Settings

PRESETS = ("tutorial_seq2seq",)  # overrides are checked with it
REQUESTS, BATCH = 1000, 1000
START_TIMEOUT = 300.0


@dataclass(frozen=True)
class Endpoint:
    """A served model: its URL and its process."""

    url: str
    process: subprocess.Popen


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ask(url: str, questions: list[str], timeout: float = 120) -> list[str]:
    """The answers of `POST /invocations` to `questions`. Raises urllib's errors."""
    request = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps({"inputs": questions}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return [row["answer"] for row in json.loads(response.read())["predictions"]]


@contextlib.contextmanager
def served(stored: Stored, settings: Settings) -> Iterator[Endpoint]:
    """`mlflow models serve` of the run's model until the block ends (its process group is
    ended then). Raises RuntimeError when it does not answer within START_TIMEOUT."""
    url = f"http://127.0.0.1:{_free_port()}"
    command = [*console_script("mlflow"), "models", "serve", "-m", f"runs:/{stored.run_id}/model"]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", url.rsplit(":", 1)[1], "-w", "1"]
    log = settings.folder("serve") / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**child_env(), "MLFLOW_TRACKING_URI": stored.uri},
        )  # fmt: skip
    try:
        yield Endpoint(url, process)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def first_answer(endpoint: Endpoint, started: float) -> tuple[float, list[str]]:
    """Seconds from `started` until the endpoint answers QUESTION, and that answer."""
    deadline = started + START_TIMEOUT
    while True:
        with contextlib.suppress(urllib.error.URLError, ConnectionError):
            answer = ask(endpoint.url, [QUESTION], timeout=30)
            return time.perf_counter() - started, answer
        if time.perf_counter() > deadline or endpoint.process.poll() is not None:
            raise RuntimeError("mlflow models serve did not answer; see its log in the scratch")
        time.sleep(0.1)


@dataclass(frozen=True)
class Serving:
    """The section's measurements: cold starts (s), single-request latencies (s, in order),
    batch throughputs (questions/s), in-process `predict` latencies (s) and the process's
    answer to QUESTION (from the endpoint and from `addexp-predict`)."""

    cold: Stat
    single: np.ndarray
    batches: Stat
    loaded: np.ndarray
    answers: dict[str, list[str]]


def _loaded_latency(stored: Stored, n: int) -> tuple[np.ndarray, list[str]]:
    """`predict` on one question, `n` times, on the model MLflow loads in this process."""
    import mlflow

    mlflow.set_tracking_uri(stored.uri)
    model = mlflow.pyfunc.load_model(f"runs:/{stored.run_id}/model")
    answer = model.predict([QUESTION])["answer"].tolist()
    seconds = []
    for _ in range(n):
        start = time.perf_counter()
        model.predict([QUESTION])
        seconds.append(time.perf_counter() - start)
    return np.array(seconds), answer


def measure(settings: Settings) -> Serving:
    """Cold starts, then on the last endpoint the single requests and the batches."""
    stored = trained_run(settings)
    requests, batch = settings.size(REQUESTS, 50), settings.size(BATCH, 100)
    questions = [f"{a}+{b}" for a, b in np.random.default_rng(0).integers(1, 11, (batch, 2))]
    cold, single, rates = [], [], []
    answers: dict[str, list[str]] = {}
    for repeat in range(settings.repeats):
        started = time.perf_counter()
        with served(stored, settings) as endpoint:
            seconds, answers["served"] = first_answer(endpoint, started)
            cold.append(seconds)
            if repeat < settings.repeats - 1:
                continue
            for _ in range(requests):
                start = time.perf_counter()
                ask(endpoint.url, [QUESTION])
                single.append(time.perf_counter() - start)
            for _ in range(settings.repeats):
                start = time.perf_counter()
                ask(endpoint.url, questions)
                rates.append(len(questions) / (time.perf_counter() - start))
    loaded, answers["loaded"] = _loaded_latency(stored, requests)
    predicted = run_process(
        [*console_script("addexp-predict"), "--run", stored.run_id, "--uri", stored.uri, QUESTION],
        settings.folder("predict"),
    )
    answers["addexp-predict"] = [predicted.stdout.split()[-1]]
    if len({tuple(a) for a in answers.values()}) != 1:
        raise RuntimeError(f"the ways of asking {QUESTION!r} disagree: {answers}")
    return Serving(Stat(tuple(cold)), np.array(single), Stat(tuple(rates)), loaded, answers)


def _ms(values: np.ndarray, q: float) -> str:
    return f"{1000 * np.percentile(values, q):.1f}"


def report(m: Serving, settings: Settings) -> Section:
    """The section: method, the cold start and latency tables, and what they mean."""
    requests, batch = settings.size(REQUESTS, 50), settings.size(BATCH, 100)
    latency = Table(
        ["asked", "p50 ms", "p95 ms"],
        [
            [f"`POST /invocations`, one question ({len(m.single):,} requests)",
             _ms(m.single, 50), _ms(m.single, 95)],
            [f"`predict` of the loaded model, one question ({len(m.loaded):,} calls)",
             _ms(m.loaded, 50), _ms(m.loaded, 95)],
        ],
    )  # fmt: skip
    rest = Table(
        ["measure", "median (min-max)"],
        [
            ["cold start of the endpoint: process start to first answer (s)", m.cold.text(".1f")],
            [f"throughput, requests of {batch:,} questions (questions/s)", m.batches.text(",.0f")],
        ],
    )
    served_p50 = float(np.percentile(m.single, 50))
    loaded_p50 = float(np.percentile(m.loaded, 50))
    meaning = (
        f"A served question takes {1000 * served_p50:.1f} ms at the median, of which "
        f"{1000 * loaded_p50:.1f} ms is the model's own `predict` (parsing, the checks of what "
        "the run can take, encoding and one forward pass); the rest is HTTP, JSON and MLflow's "
        "schema check. Questions sent together share that cost: a request of "
        f"{batch:,} questions answers {m.batches.median:,.0f} a second. The endpoint needs "
        f"{m.cold.median:.0f} s to answer its first question, most of it importing TensorFlow "
        f"and loading the model; every way of asking answered `{QUESTION}` with "
        f"`{m.answers['served'][0]}`."
    )
    method = (
        "The model a run logs, served by `mlflow models serve -m runs:/ID/model --env-manager "
        "local` (one worker, on loopback; each request on a connection of its own, as `curl` "
        "makes them) and loaded by `mlflow.pyfunc.load_model` in this process. A tiny run of "
        f"the tutorial (1 epoch of 200 problems) logs the model; {settings.repeats} cold "
        f"starts, then {requests:,} single-question requests one after another and "
        f"{settings.repeats} requests of {batch:,} questions on the last endpoint; then "
        f"{requests:,} `predict` calls on the model loaded in this process."
    )
    return Section("serving", "Serving: the logged model over HTTP and in Python", method,
                   [latency, rest], meaning)  # fmt: skip


def run(settings: Settings) -> Section:
    """The serving section."""
    return report(measure(settings), settings)
