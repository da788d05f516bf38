"""The real `addexp` command: end to end into a temporary SQLite store, sweeps, and bad input."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import PRESETS, TINY, addexp
from tests.reference_eval import evaluate


def _runs(folder: Path, experiment: str = "addexp"):
    """The runs of an experiment, without a sweep's parent run."""
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=[experiment], output_format="pandas")
    if "tags.sweep.keys" in runs:
        runs = runs[runs["tags.sweep.keys"].isna()]
    return runs


def test_seq2seq_run_logs_params_metrics_artifacts_and_finishes(tmp_path):
    result = addexp([*TINY, "seed=7"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "exact_match" in result.stderr + result.stdout

    runs = _runs(tmp_path)
    assert len(runs) == 1
    run = runs.iloc[0]
    assert run["status"] == "FINISHED"
    assert run["params.seed"] == "7"
    assert run["params.data.terms"] == "2"
    assert run["params.model.encoder_units"] == "[100]"
    assert run["params.train.epochs"] == "2"
    assert (
        run["params.tracking.uri"] == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    )  # the store used
    assert run["tags.framing"] == "seq2seq"
    assert run["tags.preset"] == "tutorial_seq2seq"  # the default composition is that preset
    assert run["tags.mlflow.runName"] == "tutorial_seq2seq-seed7"
    for metric in ("exact_match", "char_accuracy", "invalid_rate"):
        assert 0 <= run[f"metrics.test/{metric}"] <= 1
    assert run["metrics.test/rmse"] >= 0
    # 128 training draws from a space of 100 problems see about 1 - 0.99**128 = 72% of it
    assert 0.5 < run["metrics.test/train_overlap"] < 0.95
    assert run["params.derived.space_size"] == "100"
    assert run["params.derived.question_width"] == "5"
    assert run["params.derived.alphabet"] == "' +0123456789'"

    client = MlflowClient()
    history = client.get_metric_history(run["run_id"], "train/loss")
    assert [m.step for m in history] == [0, 1]
    assert client.get_metric_history(run["run_id"], "train/accuracy")

    artifacts = {a.path for a in client.list_artifacts(run["run_id"])}
    assert {"config", "predictions.csv", "learning_curves.png"} <= artifacts
    config_files = {a.path for a in client.list_artifacts(run["run_id"], "config")}
    assert config_files == {"config/resolved.yaml", "config/overrides.yaml", "config/layout.json"}
    assert Path(run["artifact_uri"].removeprefix("file://")).is_relative_to(tmp_path / "mlruns")

    local = Path(client.download_artifacts(run["run_id"], "predictions.csv", str(tmp_path)))
    with local.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 50
    assert list(rows[0]) == ["input", "expected", "predicted", "correct"]
    for row in rows:
        left, right = row["input"].split("+")
        assert int(left) + int(right) == int(row["expected"])
        assert row["correct"] == str(row["predicted"] == row["expected"])
    exact = sum(row["correct"] == "True" for row in rows) / len(rows)
    assert exact == pytest.approx(run["metrics.test/exact_match"])

    model = mlflow.pyfunc.load_model(f"runs:/{run['run_id']}/model").unwrap_python_model().model
    assert model.output_shape == (None, 2, 12)


@pytest.mark.slow
def test_preset_with_validation_and_mapping_framing(tmp_path):
    fixed = addexp(
        [
            "experiment=keras_addition_rnn",
            "train.examples=400",
            "train.epochs=2",
            "model.encoder_units=[16]",
            "model.decoder_units=[16]",
            "eval.examples=50",
            "tracking.log_model=false",
        ],
        cwd=tmp_path,
    )
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    mapping = addexp(["experiment=tutorial_mapping_mlp", "train.epochs=2", "seed=3"], cwd=tmp_path)
    assert mapping.returncode == 0, mapping.stderr[-3000:]

    runs = _runs(tmp_path).set_index("tags.preset")
    keras_run, mlp_run = runs.loc["keras_addition_rnn"], runs.loc["tutorial_mapping_mlp"]
    assert keras_run["status"] == mlp_run["status"] == "FINISHED"
    client = MlflowClient()
    for name in ("val/loss", "val/accuracy", "val/exact_match"):
        assert len(client.get_metric_history(keras_run["run_id"], name)) == 2
    assert keras_run["params.format.reverse_input"] == "True"
    assert keras_run["metrics.test/train_overlap"] < 0.1  # 360 of ~500k questions
    assert mlp_run["tags.framing"] == "mapping"
    assert mlp_run["tags.mlflow.runName"] == "tutorial_mapping_mlp-seed3"
    assert mlp_run["metrics.test/invalid_rate"] == 0
    assert mlp_run["metrics.test/rmse"] >= 0


@pytest.mark.slow
def test_multirun_sweep_gives_one_finished_run_per_job(tmp_path):
    result = addexp(
        [
            "-m",
            "seed=1,2",
            "train.batch_size=10,32",
            *TINY,
            "tracking.log_model=false",
            "tracking.experiment=sweep",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = _runs(tmp_path, "sweep")
    assert sorted(zip(runs["params.seed"], runs["params.train.batch_size"], strict=True)) == [
        ("1", "10"),
        ("1", "32"),
        ("2", "10"),
        ("2", "32"),
    ]
    assert set(runs["status"]) == {"FINISHED"}
    assert (tmp_path / "multirun").is_dir() and not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("data.terms=0", "data.terms=0 is out of range; it must be >= 1"),
        ("data.largest=-5", "data.largest=-5 is out of range"),
        ("train.batch_size=0", "train.batch_size=0 is out of range; it must be >= 1"),
        ("train.epochs=abc", "train.epochs"),
        ("model=nope", "Could not find 'model/nope'"),
        ("experiment=nope", "Could not find 'experiment/nope'"),
        ("train.jit_compile=maybe", "not a valid bool (type str) (key train.jit_compile)"),
        ("train.epochz=3", "(key train.epochz). The keys of train: epochs, batch_size"),
        ("train.epochz=3", "Did you mean train.epochs?"),
        ("experiment=fast_tutorial model=seq2seq", "keys of model (seq2seq): name, encoder_units"),
        ("train.epochs=[1", "override 'train.epochs=[1': no viable alternative"),
    ],
)
def test_bad_input_exits_nonzero_with_a_short_message_and_no_finished_run(
    tmp_path, override, expected
):
    result = addexp(override.split(), cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    said = [line for line in result.stderr.splitlines() if line.startswith("addexp: ")]
    assert len(said) == 1 and expected in said[0], result.stderr
    assert "Traceback" not in result.stderr and "HYDRA_FULL_ERROR" not in result.stderr
    if override.startswith("model="):
        assert "mlp, seq2seq, tagger" in said[0]  # Hydra's options, in the same paragraph
    assert not (tmp_path / "mlflow.db").exists()  # checked before any store is created


@pytest.mark.slow
def test_every_extension_preset_trains_end_to_end(tmp_path):
    presets = [p for p in PRESETS if p.startswith("ext_")]
    result = addexp(
        [
            "-m",
            f"experiment={','.join(presets)}",
            *TINY,
            "model.encoder_units=[8]",
            "model.decoder_units=[8]",
            "tracking.log_model=false",
            "tracking.experiment=ext",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = _runs(tmp_path, "ext").set_index("tags.preset")
    assert sorted(runs.index) == presets
    assert set(runs["status"]) == {"FINISHED"}
    assert runs.loc["ext_masking", "params.encoding.masking"] == "True"
    assert runs.loc["ext_baseline", "metrics.test/train_overlap"] == 0.0  # eval.disjoint
    assert runs.loc["ext_operations", "params.derived.alphabet"] == "' +-0123456789'"

    client = MlflowClient()
    brackets = runs.loc["ext_brackets", "run_id"]
    local = Path(client.download_artifacts(brackets, "predictions.csv", str(tmp_path)))
    with local.open() as handle:
        rows = list(csv.DictReader(handle))
    assert any("(" in row["input"] for row in rows)
    assert any(row["expected"].startswith("-") for row in rows)
    assert all(evaluate(row["input"]) == int(row["expected"]) for row in rows)


def test_a_command_ends_as_python_would_but_at_once(tmp_path):
    # an idle executor worker (a non-daemon thread), a function registered to run at exit, a
    # temporary folder and a status: what Python's own exit does, `finish` does
    program = (
        "import atexit, concurrent.futures, sys, tempfile\n"
        "from addexp.cli import finish\n"
        "pool = concurrent.futures.ThreadPoolExecutor(1); pool.submit(print, 'worked').result()\n"
        f"atexit.register(lambda: open({str(tmp_path / 'ran')!r}, 'w').close())\n"
        f"kept = tempfile.TemporaryDirectory(dir={str(tmp_path)!r})\n"
        "print('done', end='')\n"
        "finish(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (3, "worked\ndone", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ran"]
