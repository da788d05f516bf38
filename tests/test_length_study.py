"""The length-generalisation presets through the real `addexp -m` command, tiny: every one of
them trains, is evaluated at every length of `eval=length_study`, and its logged model answers
through the real `addexp-predict` what the run logged, for its own longest questions and for
one typed as text."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import addexp, addexp_predict, logged_rows, predict_rows

PRESETS = ("length_repeat", "length_teacher_forcing", "length_attention", "length_aligned")
LENGTHS = (5, 10, 20, 50, 100)
TYPED = "1234567890" * 5 + "+" + "9876543210" * 5  # 50 digits each, typed as text


@pytest.mark.slow
def test_every_length_preset_trains_evaluates_every_length_and_answers_as_logged(tmp_path):
    args = [
        "-m",
        f"experiment={','.join(PRESETS)}",
        "train.epochs=1",
        "train.examples=256",
        "eval.examples=20",
        "eval.show=0",
        "train.progress=off",
    ]
    result = addexp(args, cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("addexp").experiment_id
    children = client.search_runs([experiment], "tags.preset != 'none'")
    children = [r for r in children if "mlflow.parentRunId" in r.data.tags]
    assert sorted(r.data.tags["preset"] for r in children) == sorted(PRESETS)
    for run in children:
        preset = run.data.tags["preset"]
        assert run.info.status == "FINISHED", preset
        for digits in LENGTHS:
            assert 0.0 <= run.data.metrics[f"digits_{digits}/exact_match"] <= 1.0, preset
        rows = logged_rows(uri, run.info.run_id, "predictions/digits_100.csv", tmp_path / preset)
        assert len(rows) == 20, preset
        assert all(sum(c.isdigit() for c in r["input"]) == 200 for r in rows), preset
        code, predicted = predict_rows(uri, run.info.run_id, rows, tmp_path / f"{preset}.csv")
        assert code == 0, preset
        assert [p["predicted"] for p in predicted] == [r["predicted"] for r in rows], preset
        typed = addexp_predict(["--run", run.info.run_id, "--uri", uri, TYPED], tmp_path)
        assert typed.returncode == 0, (preset, typed.stderr[-2000:])
        assert typed.stdout.startswith(TYPED), preset
