"""A run's logged model outside addexp: served by the real `mlflow models serve` on loopback,
and registered in the real MLflow Model Registry by a sweep (`tracking.register`).

Four runs (seq2seq, teacher forcing searching a beam of 4, attention with reversed output, the
aligned tagger) each answer 1,000 test questions the same four ways: the run's own
`predictions.csv`, `addexp-predict --run`, `mlflow.pyfunc.load_model(...).predict` and
`POST /invocations` on a served endpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from addexp.tracking.context import RunContext
from addexp.tracking.runner import run
from tests.conftest import addexp, addexp_predict, compose, end_group, logged_rows

pytestmark = pytest.mark.slow

WRITES = ["train.examples=2000", "train.epochs=3", "eval.examples=1000", "eval.show=0"]
RUNS = {
    "seq2seq": [],
    "teacher_forcing_beam4": ["model=teacher_forcing", "model.units=[16]", "model.beam_width=4"],
    "attention_reversed": ["model=attention", "model.units=[16]", "format.reverse_output=true"],
    "tagger_aligned": ["model=tagger", "format=aligned"],
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("served")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    ids = {"_uri": uri, "_folder": str(folder)}
    for name, overrides in RUNS.items():
        cfg = compose([*WRITES, f"tracking.uri={uri}", *overrides])
        run(cfg, RunContext(launch_dir=folder, output_dir=folder / name, run_name=name))
        mlflow.set_tracking_uri(uri)
        found = mlflow.search_runs(
            experiment_names=["addexp"], filter_string=f"run_name = '{name}'"
        )
        ids[name] = found.run_id[0]
    return ids


@contextlib.contextmanager
def served(model_uri: str, tracking_uri: str, log: Path, timeout: float = 180) -> Iterator[str]:
    """`mlflow models serve -m MODEL_URI --env-manager local` on a free loopback port; yields
    its URL and ends its process group afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = Path(sys.executable).with_name("mlflow")
    args = ["models", "serve", "-m", model_uri, "--env-manager", "local"]
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(exe), *args, "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/ping", timeout=2):
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(
                    f"mlflow models serve did not come up: {log.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield url
    finally:
        end_group(server, 15)


def ask(url: str, payload: dict) -> tuple[int, dict]:
    """POST `payload` as JSON to /invocations: (HTTP status, the JSON answer)."""
    request = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("name", sorted(RUNS))
def test_four_ways_of_asking_give_the_same_answers(trained, tmp_path, name):
    uri, run_id = trained["_uri"], trained[name]
    rows = logged_rows(uri, run_id, "predictions.csv", tmp_path)
    questions = [r["input"] for r in rows]
    logged = [r["predicted"] for r in rows]
    assert len(questions) == 1000

    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    assert model.predict(questions)["answer"].tolist() == logged

    file = tmp_path / "questions.txt"
    file.write_text("\n".join(questions) + "\n")
    done = addexp_predict(["--run", run_id, "--uri", uri, "--file", str(file), "--format", "json"])
    assert done.returncode == 0, done.stderr
    assert [r["predicted"] for r in json.loads(done.stdout)] == logged

    with served(f"runs:/{run_id}/model", uri, tmp_path / "serve.log") as url:
        status, answered = ask(url, {"inputs": questions})
        assert status == 200, answered
        assert [p["answer"] for p in answered["predictions"]] == logged
        split = {"dataframe_split": {"columns": ["question"], "data": [[q] for q in questions[:5]]}}
        assert [p["answer"] for p in ask(url, split)[1]["predictions"]] == logged[:5]
        status, refused = ask(url, {"inputs": [questions[0], "1+x", questions[1]]})
        assert status == 400, refused
        assert "question '1+x' " in refused["message"] and "Traceback" not in json.dumps(refused)


def test_a_served_model_searches_with_the_beam_it_is_asked_for(trained, tmp_path):
    uri, run_id = trained["_uri"], trained["teacher_forcing_beam4"]
    questions = ["12+34", "5+67", "99+1"]
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    with served(f"runs:/{run_id}/model", uri, tmp_path / "serve.log") as url:
        for width in (1, 2):
            status, answered = ask(url, {"inputs": questions, "params": {"beam_width": width}})
            local = model.predict(questions, params={"beam_width": width})
            assert status == 200 and [p["answer"] for p in answered["predictions"]] == (
                local["answer"].tolist()
            )
            assert [p["log_probability"] for p in answered["predictions"]] == pytest.approx(
                local["log_probability"].tolist()
            )


def test_a_sweep_registers_its_best_child_as_champion(tmp_path):
    tiny = ["train.epochs=1", "train.examples=64", "eval.examples=20", "eval.show=0"]
    first = addexp(["-m", "seed=1,2", "tracking.register=adder", *tiny], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    said = first.stdout + first.stderr
    assert "alias champion (models:/adder@champion)" in said, said
    assert "Created version" not in said and "WARNING" not in said
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    parent = client.search_runs(["1"], "tags.`sweep.keys` = 'seed'")[0]
    champion = client.get_model_version_by_alias("adder", "champion")
    assert champion.run_id == parent.data.tags["sweep.best_run_id"]
    assert champion.tags["sweep.parent_run_id"] == parent.info.run_id
    assert champion.tags["objective"] == "test/exact_match"
    assert parent.data.tags["sweep.registered"] == "models:/adder@champion"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = addexp_predict(["--model", "models:/adder@champion", "--uri", uri, "3+4"], elsewhere)
    assert done.returncode == 0 and done.stdout.startswith("3+4 "), done.stderr
    single = addexp(["seed=3", "tracking.register=adder", *tiny], tmp_path)
    said = single.stdout + single.stderr
    assert single.returncode == 0 and "the model as adder version 2" in said, said
    assert "Created version" not in said and "mlflow.tracking" not in said  # MLflow's own lines
    second = addexp(["-m", "seed=4,5", "tracking.register=adder", *tiny], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert str(client.get_registered_model("adder").aliases["champion"]) == "3"
    assert client.get_model_version("adder", "1").aliases == []  # moved, not copied
    for model, said in [
        ("models:/nosuch@champion", "has no registered model 'nosuch'"),
        ("models:/adder@best", "has no alias 'best' (its aliases: champion)"),
        ("models:/adder/9", "has no version 9 (its versions: 1, 2, 3)"),
        ("models:/adder", "a registered model is named models:/NAME@ALIAS"),
    ]:
        refused = addexp_predict(["--model", model, "--uri", uri, "3+4"], elsewhere)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    latest = addexp_predict(["--model", "models:/adder/latest", "--uri", uri, "3+4"], elsewhere)
    assert latest.returncode == 0, latest.stderr


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["tracking.register=a/b"], "a registered model's name is a non-empty string"),
        (["tracking.register=''"], "a registered model's name is a non-empty string"),
        (["tracking.register=adder", "tracking.log_model=false"], "needs the model the run logs"),
    ],
)
def test_a_name_the_registry_cannot_take_is_refused_before_anything_runs(tmp_path, overrides, said):
    for sweep in ([], ["-m", "seed=1,2"]):
        done = addexp([*sweep, *overrides], tmp_path)
        assert done.returncode == 2 and said in done.stderr, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "mlflow.db").exists()
