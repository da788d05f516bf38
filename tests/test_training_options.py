"""Training options a Keras user expects, through the real `addexp` command into a real store."""

from __future__ import annotations

import math

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from addexp.cli.entry import validate
from addexp.config.checks import ConfigError
from tests.conftest import TINY, addexp, compose

EPOCH_METRICS = {"train/loss", "train/accuracy", "train/learning_rate"}
VAL_METRICS = {"val/loss", "val/accuracy", "val/exact_match"}


@pytest.mark.slow
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
        "train.steps_per_execution=4",
    ]
    result = addexp(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = mlflow.search_runs(experiment_names=["addexp"]).iloc[0]
    assert run["params.train.schedule"] == "cosine" and run["params.train.clipnorm"] == "1.0"
    assert run["params.train.early_stopping.monitor"] == "val/exact_match"
    assert run["metrics.train/epochs_trained"] == 2
    assert run["metrics.train/best_epoch"] == 1  # the second did not improve on the first by 2
    assert run["params.derived.jit_compile"] == "False"
    client = MlflowClient()
    for key in EPOCH_METRICS | VAL_METRICS:  # one fit, every epoch reported as it ended
        assert [m.step for m in client.get_metric_history(run.run_id, key)] == [0, 1]
    history = client.get_metric_history(run.run_id, "train/learning_rate")
    rates = [m.value for m in sorted(history, key=lambda m: m.step)]
    assert rates[0] == pytest.approx(0.005)  # warm-up: half way in its one epoch
    assert rates[1] == pytest.approx(0.01 * 0.5 * (1 + math.cos(0)))  # cosine starts at the top


def test_every_schedule_gives_the_rate_of_each_epoch():
    """Per epoch, a staircase: warm-up to the rate, then constant, cosine towards 0 (never 0 in
    an epoch that trains) or exponential decay."""
    from addexp.training.fit import learning_rate

    def rates(*overrides: str) -> list[float]:
        t = compose(["train.epochs=5", "train.learning_rate=0.1", *overrides]).train
        return [learning_rate(t, e) for e in range(5)]

    assert rates() == pytest.approx([0.1] * 5)
    assert rates("train.schedule=exponential", "train.decay_rate=0.5") == pytest.approx(
        [0.1, 0.05, 0.025, 0.0125, 0.00625]
    )
    cosine = rates("train.schedule=cosine", "train.warmup_epochs=1")
    assert cosine[:2] == pytest.approx([0.05, 0.1]) and cosine[-1] > 0
    assert cosine[2:] == pytest.approx(
        [0.1 * 0.5 * (1 + math.cos(math.pi * k / 4)) for k in (1, 2, 3)]
    )


def test_gradient_clipping_reaches_the_optimizer():
    from addexp.models import build_model
    from addexp.training.fit import compile_model
    from addexp.training.pipeline import build_pipeline

    cfg = compose(["train.clipnorm=0.5"])
    pipeline = build_pipeline(cfg)
    model = build_model(cfg.model, pipeline.framing.shapes)
    compile_model(model, pipeline.framing, cfg.train)
    assert model.optimizer.clipnorm == 0.5


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
        (
            ["model=tagger", "format=aligned", "model.recurrent_dropout=-0.1"],
            "model.recurrent_dropout=-0.1 is out of range",
        ),
        (["format=aligned"], "format=aligned is read by model=tagger"),
        (["model=tagger"], "model=tagger reads format=aligned"),
        (["model=tagger", "format=aligned", "data.operations=[-]"], "lines up the place values"),
        (["model=tagger", "format=aligned", "encoding=embedding"], "Use encoding=onehot"),
        (["model=tagger", "format=aligned", "eval=terms"], "reads at most 2 terms"),
        (["train.steps_per_execution=-1"], "train.steps_per_execution=-1 is out of range"),
    ],
)
def test_new_options_are_checked_before_a_run(overrides, message):
    with pytest.raises(ConfigError) as error:
        validate(compose(overrides))
    assert message in str(error.value)


@pytest.mark.slow
def test_one_fresh_fit_logs_every_epoch_with_xla_and_several_steps_per_execution(tmp_path):
    """Each epoch's metrics logged at its step, the options recorded as params and what XLA did
    as `derived.jit_compile`; the test set's overlap is the brute-force share of test questions
    among every training question, redrawn from the seed."""
    from addexp.problems.space import question_keys
    from addexp.training.batches import CHUNK, draw_chunk
    from addexp.training.pipeline import build_pipeline, draw_test_set, training_streams

    options = ["train.jit_compile=true", "train.steps_per_execution=3", "train.batch_size=10"]
    args = [*TINY, "train.epochs=3", "train.examples=60", "tracking.log_model=false", *options]
    result = addexp(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_tracking_uri(client.tracking_uri)
    run = client.get_run(mlflow.search_runs(experiment_names=["addexp"]).iloc[0].run_id)
    per_epoch = {k for k in run.data.metrics if k.startswith(("train/", "val/"))}
    assert per_epoch == EPOCH_METRICS | {"train/seconds", "train/epochs_trained"}
    for key in EPOCH_METRICS:
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [0, 1, 2]
    params = run.data.params
    assert params["train.jit_compile"] == params["derived.jit_compile"] == "True"
    assert params["train.steps_per_execution"] == params["derived.steps_per_execution"] == "3"

    cfg = compose(args)
    pipeline = build_pipeline(cfg)
    test, exclude = draw_test_set(cfg, pipeline.space)
    streams = training_streams(cfg)
    assert cfg.train.examples <= CHUNK  # one chunk per epoch
    draws = [draw_chunk(pipeline.space, 60, streams, exclude, epoch, 0) for epoch in range(3)]
    trained = np.concatenate([question_keys(d) for d in draws])
    overlap = np.isin(question_keys(test), trained).mean()
    assert run.data.metrics["test/train_overlap"] == pytest.approx(overlap)
