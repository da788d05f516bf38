"""Training options a Keras user expects, through the real `addexp` command into a real store."""

from __future__ import annotations

import math

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from addexp.validation import ConfigError, validate
from tests.conftest import TINY, addexp, compose


def test_schedule_warmup_clipping_and_early_stopping_are_applied_and_recorded(tmp_path):
    args = [
        *TINY,
        "train=fixed",
        "data.largest=99",
        "train.examples=200",
        "train.epochs=6",
        "train.learning_rate=0.01",
        "train.schedule=cosine",
        "train.warmup_epochs=1",
        "train.clipnorm=1.0",
        "train.early_stopping.monitor=val/exact_match",
        "train.early_stopping.patience=0",
        "train.early_stopping.min_delta=2",  # nothing improves by 2: stop after epoch 2
    ]
    result = addexp(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = mlflow.search_runs(experiment_names=["addexp"]).iloc[0]
    assert run["params.train.schedule"] == "cosine" and run["params.train.clipnorm"] == "1.0"
    assert run["params.train.early_stopping.monitor"] == "val/exact_match"
    assert run["metrics.train/epochs_trained"] == 2
    history = MlflowClient().get_metric_history(run.run_id, "train/learning_rate")
    rates = [m.value for m in sorted(history, key=lambda m: m.step)]
    assert rates[0] == pytest.approx(0.005)  # warm-up: half way in its one epoch
    assert rates[1] == pytest.approx(0.01 * 0.5 * (1 + math.cos(0)))  # cosine starts at the top


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.schedule=step"], "choose one of: none, cosine, exponential"),
        (["train.warmup_epochs=30"], "leaves no epoch after the warm-up"),
        (["train.clipnorm=-1"], "train.clipnorm=-1.0 is out of range"),
        (["train.early_stopping.monitor=val/exact_match"], "choose one of: train/loss"),
        (["train.decay_rate=0"], "train.decay_rate=0.0 is out of range"),
        (["model=teacher_forcing", "model.cell=lstmm"], "model.cell='lstmm' is not allowed"),
        (["model=attention", "model.attention=cosine"], "choose one of: additive, dot"),
        (["model=teacher_forcing", "model.beam_width=0"], "model.beam_width=0 is out of range"),
        (["model=teacher_forcing", "model.dropout=1"], "model.dropout=1.0 is out of range"),
        (["format=aligned"], "the aligned format is read by model=tagger"),
        (["model=tagger"], "the aligned format is read by model=tagger"),
        (["model=tagger", "format=aligned", "data.operations=[-]"], "lines up place values"),
        (["model=tagger", "format=aligned", "encoding=embedding"], "use encoding=onehot"),
        (["model=tagger", "format=aligned", "eval=terms"], "reads at most 2 terms"),
    ],
)
def test_new_options_are_checked_before_a_run(overrides, message):
    with pytest.raises(ConfigError) as error:
        validate(compose(overrides))
    assert message in str(error.value)
