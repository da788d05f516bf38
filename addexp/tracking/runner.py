"""One experiment end to end: config -> problems -> text -> model -> metrics -> MLflow."""

from __future__ import annotations

import csv
import itertools
import logging
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from addexp.config.interpolation import lenient
from addexp.config.schema import flatten
from addexp.evaluation.metrics import summary
from addexp.evaluation.scoring import SetResult, evaluate_set, format_examples
from addexp.models import build_model
from addexp.problems.space import Problems, ProblemSpace, question_keys, sample
from addexp.tracking import datasets, resume
from addexp.tracking import store as tracking
from addexp.tracking.context import RunContext
from addexp.training import checkpoints, faults, progress
from addexp.training.checkpoints import ARTIFACT_DIR, Checkpointer
from addexp.training.fit import compile_model, fit
from addexp.training.pipeline import (
    TEST_STREAM,
    TRAIN_STREAM,
    Pipeline,
    build_pipeline,
    draw_test_set,
    layout,
    training_streams,
)

log = logging.getLogger("addexp")
_JOBS = itertools.count()  # runs started in this process (a sweep's basic launcher runs many)


def limit_threads(threads: int) -> None:
    """Cap TensorFlow's thread pools (parallel sweeps); must happen before TensorFlow starts."""
    if threads <= 0:
        return
    import tensorflow as tf

    if tf.config.threading.get_intra_op_parallelism_threads() == threads:
        return  # already so (an earlier job of a sweep in this process)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        log.warning("TensorFlow already started; train.threads=%d not applied", threads)


def run(cfg: DictConfig, ctx: RunContext) -> float:
    """Train and evaluate the configured experiment, log it to MLflow; return `eval.objective`.

    The run ends FINISHED; FAILED with tag `error` if anything raises (`faults.Diverged` when
    the loss stops being a number); KILLED when a signal stops it (`faults.Interrupted`, its
    message saying what was kept) after the current training batch or inference, never in the
    middle of an MLflow write; one that arrives after the last inference lets the run finish,
    then raises.
    Whatever ends the run, the last epoch's checkpoint is logged to it. `train.resume`
    continues another run's checkpoint (`addexp.tracking.resume`)."""
    import keras

    threads = cfg.train.threads or ctx.threads
    limit_threads(threads)
    # Jobs of a sweep share the process: start each one clean. Collecting the garbage takes a
    # few tenths of a second with TensorFlow loaded; worth it only once models were built.
    keras.backend.clear_session(free_memory=next(_JOBS) > 0)
    keras.utils.set_random_seed(cfg.seed)  # Python, NumPy and TensorFlow
    pipeline = build_pipeline(cfg)
    experiment_id, run_name, tags = _open_tracking(cfg, ctx)
    tags["framing"] = pipeline.framing.name
    source = None
    if cfg.train.resume:
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        download = Path(tempfile.mkdtemp(prefix="resumed-", dir=ctx.output_dir))
        source = resume.fetch(cfg, ctx.launch_dir, download)
        tags.update(resume.tags(source))

    finished: list[tuple[float, str]] = []  # (objective, run id) once the run ended FINISHED
    try:
        with faults.deferred():  # a signal stops the run at its safe points only
            with tracking.tracked_run(
                experiment_id, run_name, tags, cfg.tracking.system_metrics
            ) as run_id:
                # a folder of the run's own: runs started in the same second share output_dir
                checkpointer = Checkpointer(
                    ctx.output_dir / ARTIFACT_DIR / run_id, run_id, cfg.train.checkpoint_every
                )
                try:
                    objective = _train_and_evaluate(
                        cfg, ctx, pipeline, run_id, run_name, source, checkpointer
                    )
                except KeyboardInterrupt as stop:
                    raise faults.interruption(stop, _kept(checkpointer, cfg, ctx, run_id)) from None
                finally:
                    checkpointer.flush()
            finished.append((objective, run_id))
    except KeyboardInterrupt as stop:
        if not finished:
            raise
        raise faults.interruption(
            stop, f"while run {finished[0][1]} was logging its results; it ended FINISHED"
        ) from None
    return finished[0][0]


def _kept(checkpointer: Checkpointer, cfg: DictConfig, ctx: RunContext, run_id: str) -> str:
    """What an interrupted run leaves, and the command that goes on from it (one line)."""
    done = checkpointer.saved
    if not done:
        return f"before its first epoch ended; run {run_id} ended KILLED (nothing to resume)"
    overrides = [o for o in ctx.overrides if not o.startswith("train.resume=")]
    command = shlex.join(["addexp", *overrides, f"train.resume={run_id}"])
    return (
        f"after {done} of {cfg.train.epochs} epochs; run {run_id} ended KILLED with its metrics "
        f"and the checkpoint of epoch {done}; continue it with: {command}"
    )


def _train_and_evaluate(
    cfg: DictConfig,
    ctx: RunContext,
    pipeline: Pipeline,
    run_id: str,
    run_name: str,
    source: resume.Source | None,
    checkpointer: Checkpointer,
) -> float:
    """The body of run `run_id` (active): params and config, training (from `source`'s
    checkpoint, if any), evaluation, artifacts; returns `eval.objective`."""
    import mlflow

    space, family, framing = pipeline.space, pipeline.family, pipeline.framing
    log.info("MLflow run %s (%s) in %s", run_id, run_name, mlflow.get_tracking_uri())
    resolved = OmegaConf.to_container(cfg, resolve=True)
    mlflow.log_params(flatten(resolved))
    mlflow.log_dict(resolved, "config/resolved.yaml")
    mlflow.log_dict({"overrides": list(ctx.overrides)}, "config/overrides.yaml")
    mlflow.log_dict(layout(pipeline), "config/layout.json")
    mlflow.log_params(derived_params(space, framing, cfg.train.threads or ctx.threads))

    model = build_model(cfg.model, framing.shapes)
    mlflow.log_params(compile_model(model, framing, cfg.train))
    started = None
    if source is not None:
        started = checkpoints.restore(model, source.checkpoint)
        resume.copy_history(run_id, started.history)
        checkpointer(model, started)  # this run holds the checkpoint it starts from
        log.info("resuming run %s after epoch %d", source.run_id, started.epochs_done)
    test, exclude = draw_test_set(cfg, space)
    datasets.log_test(cfg, test, TEST_STREAM)
    sets = draw_sets(pipeline, cfg.seed)
    watched = watched_keys([test, *sets.values()])
    in_sweep = ctx.parent_run_id is not None
    with progress.epochs(
        cfg.train.progress, cfg.train.epochs, run_name, tracking.log_epoch, in_sweep
    ) as show_epoch:

        def on_epoch(epoch: int, metrics: dict[str, float], done: checkpoints.Progress) -> None:
            show_epoch(epoch, metrics)  # logs the epoch's metrics and shows progress
            checkpointer(model, done)

        result = fit(
            model,
            family,
            framing,
            space,
            cfg.train,
            training_streams(cfg),
            on_epoch,
            watched,
            exclude,
            started,
            datasets.training_logger(cfg, TRAIN_STREAM),
        )
    trained = {"train/seconds": result.seconds, "train/epochs_trained": len(result.history)}
    if result.best_epoch is not None:  # early stopping: the epoch its metric was best
        trained["train/best_epoch"] = result.best_epoch
    mlflow.log_metrics(trained)

    results = {"test": _evaluated(model, family, framing, test, result.seen_keys)}
    results.update(
        evaluate_sets(model, pipeline, sets, result.seen_keys, datasets.log_eval_set(cfg))
    )
    log_results(results, ctx.output_dir, run_id)
    if result.history:
        from addexp.evaluation.plots import learning_curves

        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        plot = learning_curves(result.history, ctx.output_dir / "learning_curves.png", run_name)
        mlflow.log_artifact(str(plot))
    from addexp.evaluation.plots import answer_plots

    tested = results["test"]
    own = tested.layouts.own()
    for plot in answer_plots(tested.expected, tested.predicted, ctx.output_dir, run_name, own):
        mlflow.log_artifact(str(plot))
    if family.figures is not None:
        for figure in family.figures(model, framing, test, ctx.output_dir / family.name):
            mlflow.log_artifact(str(figure), family.name)
    if cfg.tracking.log_model:
        _log_model(model, framing.inputs(test.take(slice(0, 5))))

    log.info(
        "%s  (%.1f s training)\n%s",
        summary("test", results["test"].metrics),
        result.seconds,
        format_examples(results["test"].table, cfg.eval.show),
    )
    for name, set_result in results.items():
        if name != "test":
            log.info("%s", summary(name, set_result.metrics))
    uri = mlflow.get_tracking_uri()
    experiment_id = mlflow.active_run().info.experiment_id
    log.info("MLflow UI: %s", tracking.ui_address(uri, experiment_id, run_id))
    return _objective(cfg.eval.objective, results, result.history)


def draw_sets(pipeline: Pipeline, seed: int) -> dict[str, Problems]:
    """Each evaluation set by name: a fresh draw from its own stream (independent of training,
    so drawn before it: training marks which of their questions it shows)."""
    return {s.name: sample(s.space, s.examples, s.rng(seed)) for s in pipeline.sets}


def watched_keys(drawn: list[Problems]) -> np.ndarray:
    """The question keys of sets to be scored (sorted, unique): what the overlap report asks of
    training."""
    return np.unique(np.concatenate([question_keys(p).astype(str) for p in drawn]))


def evaluate_sets(
    model,
    pipeline: Pipeline,
    drawn: dict[str, Problems],
    seen_keys: np.ndarray | None,
    on_data: Callable[[str, Problems, ProblemSpace], None] | None = None,
) -> dict[str, SetResult]:
    """Each evaluation set (`drawn` by `draw_sets`), scored like the test set;
    `on_data(name, problems, space)` sees each draw."""
    results = {}
    for s in pipeline.sets:
        problems = drawn[s.name]
        if on_data is not None:
            on_data(s.name, problems, s.space)
        results[s.name] = _evaluated(model, pipeline.family, pipeline.framing, problems, seen_keys)
    return results


def _evaluated(
    model: Any, family: Any, framing: Any, problems: Problems, seen_keys: np.ndarray | None
) -> SetResult:
    """`evaluate_set`, at a safe point before and after it: a signal that waited during
    inference stops the run here (`faults.check`), never in the middle of an MLflow write."""
    faults.check()
    result = evaluate_set(model, family, framing, problems, seen_keys)
    faults.check()
    return result


def log_results(results: dict[str, SetResult], folder: Path, run_id: str) -> None:
    """Log every set's metrics (`<set>/<metric>`), predictions CSV (`predictions.csv` for the
    test set, `predictions/<set>.csv` for the others) and breakdown table and plot
    (`breakdown/<set>.csv`, `.png`) to run `run_id` (active or finished) of the current store;
    files are written under `folder` first."""
    import time

    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from addexp.evaluation.plots import breakdown_plot

    client = MlflowClient()
    now = int(time.time() * 1000)
    metrics = [
        Metric(f"{name}/{key}", value, now, 0)
        for name, result in results.items()
        for key, value in result.metrics.items()
    ]
    client.log_batch(run_id, metrics=metrics)
    for name, result in results.items():
        # A name may hold a folder ("beam4/digits_10": another decoding of the same set).
        where = str(Path(name).parent) if "/" in name else ""
        if name == "test":
            path, artifact_dir = folder / "predictions.csv", None
        else:
            path = folder / "predictions" / f"{name}.csv"
            artifact_dir = "/".join(p for p in ("predictions", where) if p)
        _write_csv(result.table, path)
        client.log_artifact(run_id, str(path), artifact_dir)
        table = _write_csv(result.breakdown, folder / "breakdown" / f"{name}.csv")
        plot = breakdown_plot(
            result.breakdown, folder / "breakdown" / f"{name}.png", f"{name}: exact match"
        )
        breakdown_dir = "/".join(p for p in ("breakdown", where) if p)
        client.log_artifact(run_id, str(table), breakdown_dir)
        client.log_artifact(run_id, str(plot), breakdown_dir)


def _objective(name: str, results: dict[str, SetResult], history: list[dict]) -> float:
    """The value a sweeper optimises: a test or evaluation-set metric, or the last epoch's
    validation one."""
    split, metric = name.split("/", 1)
    return history[-1][name] if split == "val" else results[split].metrics[metric]


def _open_tracking(cfg: DictConfig, ctx: RunContext) -> tuple[str, str, dict[str, str]]:
    """Point MLflow at the store; return experiment id, run name and tags. Reads the config
    leniently: a failed sweep job is recorded even when some of its values do not resolve."""
    experiment_id = tracking.use_store(
        ctx.store or tracking.open_store(cfg.tracking, ctx.launch_dir)
    )
    model = OmegaConf.select(cfg, "model.name", throw_on_resolution_failure=False)
    tags = {"preset": ctx.preset or "none", "model": str(model)}
    commit = tracking.git_commit(Path(__file__).parent)
    if commit:
        tags["mlflow.source.git.commit"] = commit
    if ctx.parent_run_id:
        tags["mlflow.parentRunId"] = ctx.parent_run_id
    label = ctx.preset or model
    run_name = OmegaConf.select(cfg, "tracking.run_name", throw_on_resolution_failure=False)
    seed = OmegaConf.select(cfg, "seed", throw_on_resolution_failure=False)
    run_name = run_name or ctx.run_name or f"{label}-seed{seed}"
    return experiment_id, run_name, tags


def record_invalid(cfg: DictConfig, ctx: RunContext, message: str) -> None:
    """A sweep job whose config is invalid: a FAILED child run saying why (`message`, as
    "ConfigError: ..."), nothing trained."""
    import mlflow

    experiment_id, run_name, tags = _open_tracking(cfg, ctx)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags):
        mlflow.log_params(flatten(lenient(cfg)))
        mlflow.set_tag("error", message[: tracking.MAX_TAG_CHARS])
        mlflow.end_run(status="FAILED")


def derived_params(space, framing, threads: int) -> dict[str, str]:
    """What the config implies: widths, alphabet, the size of the problem space (exact for sums;
    otherwise an upper-bound estimate) and TensorFlow threads (0: TensorFlow's choice)."""
    fmt = framing.text_format
    params = {
        "derived.threads": threads,
        "derived.question_width": fmt.question_width,
        "derived.answer_width": fmt.answer_width,
        "derived.space_size": f"{float(space.size()):.6g}",
        "derived.space_size_exact": space.sums_only,
        "derived.value_range": list(space.value_range()),
    }
    alphabet = getattr(framing, "alphabet", None)
    if alphabet is not None:
        params["derived.alphabet"] = repr(alphabet.symbols)
    return {k: str(v) for k, v in params.items()}


def _write_csv(table: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.keys())
        writer.writerows(zip(*(column.tolist() for column in table.values()), strict=True))
    return path


def _log_model(model, example: np.ndarray) -> None:
    """The Keras 3 flavour; requirements are stated, not inferred (inference reloads the model).
    Logged with free lengths and looping recurrent layers (`unrolling.free_length`), so that it
    reads any length as it is; addexp's own decoding unrolls it again where the config says."""
    import keras
    import mlflow
    import tensorflow as tf
    from mlflow.models import infer_signature

    from addexp.models.unrolling import free_length

    model = free_length(model)

    signature = infer_signature(example, model.predict(example, verbose=0))
    mlflow.keras.log_model(
        model,
        name="model",
        signature=signature,
        pip_requirements=[f"keras=={keras.__version__}", f"tensorflow=={tf.__version__}"],
    )
