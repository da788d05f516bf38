"""One experiment end to end: config -> problems -> text -> model -> metrics -> MLflow."""

from __future__ import annotations

import itertools
import logging
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from addexp.config.interpolation import lenient
from addexp.config.schema import flatten
from addexp.evaluation.metrics import summary
from addexp.evaluation.scoring import SetResult, format_examples
from addexp.models import build_model
from addexp.tracking import datasets, resume
from addexp.tracking import store as tracking
from addexp.tracking.context import RunContext
from addexp.tracking.results import (
    draw_sets,
    evaluate_sets,
    evaluated,
    log_figures,
    log_results,
    watched_keys,
)
from addexp.training import checkpoints, faults, progress
from addexp.training.checkpoints import ARTIFACT_DIR, Checkpointer
from addexp.training.fit import Training, TrainResult, compile_model, fit
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

    finished_run = None  # the run's id once it ended FINISHED
    try:
        with faults.deferred():  # a signal stops the run at its safe points only
            with tracking.tracked_run(
                experiment_id, run_name, tags, cfg.tracking.system_metrics
            ) as run_id:
                # a folder of the run's own: runs started in the same second share output_dir
                checkpointer = Checkpointer(
                    ctx.output_dir / ARTIFACT_DIR / run_id, run_id, cfg.train.checkpoint_every
                )
                job = Job(cfg, ctx, pipeline, run_id, run_name, source, checkpointer)
                try:
                    objective = _train_and_evaluate(job)
                except KeyboardInterrupt as stop:
                    raise faults.interruption(stop, _kept(checkpointer, cfg, ctx, run_id)) from None
                finally:
                    checkpointer.flush()
            finished_run = run_id
    except KeyboardInterrupt as stop:
        if finished_run is None:
            raise
        raise faults.interruption(
            stop, f"while run {finished_run} was logging its results; it ended FINISHED"
        ) from None
    return objective


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


@dataclass(frozen=True)
class Job:
    """One run being made: its `cfg` and `ctx`, the `pipeline` built from them, the MLflow run
    (`run_id`, active, and its `run_name`), the run it continues (`source`: `train.resume`;
    None) and the `checkpointer` that keeps its epochs."""

    cfg: DictConfig
    ctx: RunContext
    pipeline: Pipeline
    run_id: str
    run_name: str
    source: resume.Source | None
    checkpointer: Checkpointer


def _train_and_evaluate(job: Job) -> float:
    """The body of run `job.run_id` (active): params and config, training (from the resumed
    checkpoint, if any), evaluation, artifacts; returns `eval.objective`."""
    import mlflow

    cfg, ctx, pipeline = job.cfg, job.ctx, job.pipeline
    _log_config(job)
    model = build_model(cfg.model, pipeline.framing.shapes)
    mlflow.log_params(compile_model(model, pipeline.framing, cfg.train))
    started = _restore(job, model)
    test, exclude = draw_test_set(cfg, pipeline.space)
    datasets.log_test(cfg, test, TEST_STREAM)
    sets = draw_sets(pipeline, cfg.seed)
    training = Training(
        pipeline,
        cfg.train,
        training_streams(cfg),
        watched_keys([test, *sets.values()]),
        exclude,
        datasets.training_logger(cfg, TRAIN_STREAM),
    )
    trained = _train(job, model, training, started)
    seen = trained.seen_keys
    results = {"test": evaluated(model, pipeline.family, pipeline.framing, test, seen)}
    results |= evaluate_sets(model, pipeline, sets, seen, datasets.log_eval_set(cfg))
    log_results(results, ctx.output_dir, job.run_id)
    log_figures(
        ctx.output_dir, job.run_name, model, pipeline, trained.history, results["test"], test
    )
    if cfg.tracking.log_model:
        from addexp.tracking.pyfunc import log_question_model  # MLflow's pyfunc, pandas

        log_question_model(model, cfg, pipeline, test.take(slice(0, 5)).questions().tolist())
    _report(job, results, trained.seconds)
    objective = _objective(cfg.eval.objective, results, trained.history)
    if cfg.tracking.register and job.ctx.parent_run_id is None:  # a sweep registers its best
        _register(job, objective)
    return objective


def _register(job: Job, objective: float) -> None:
    """A single run's model as a new version of `tracking.register`."""
    import mlflow

    from addexp.tracking.model_registry import register

    cfg = job.cfg
    tags = {"run_name": job.run_name, "objective": cfg.eval.objective, "value": f"{objective:g}"}
    made = register(mlflow.get_tracking_uri(), cfg.tracking.register, job.run_id, tags, None)
    log.info("registered the model as %s version %s (%s)", made.name, made.version, made.uri)


def _log_config(job: Job) -> None:
    """The run's params (the resolved config flattened, the option of each config group under
    the group's name, and what the config implies) and its config
    artifacts: `config/resolved.yaml`, `config/overrides.yaml`, `config/layout.json`."""
    import mlflow

    cfg, ctx, pipeline = job.cfg, job.ctx, job.pipeline
    # in the job's log; a sweep's console shows the job once, as it ends (addexp.sweeps.callback)
    uri = mlflow.get_tracking_uri()
    log.info("MLflow run %s (%s) in %s", job.run_id, job.run_name, uri)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    mlflow.log_params({**flatten(resolved), **ctx.choices})
    mlflow.log_dict(resolved, "config/resolved.yaml")
    mlflow.log_dict({"overrides": list(ctx.overrides)}, "config/overrides.yaml")
    mlflow.log_dict(layout(pipeline), "config/layout.json")
    threads = cfg.train.threads or ctx.threads
    mlflow.log_params(derived_params(pipeline.space, pipeline.framing, threads))


def _restore(job: Job, model) -> checkpoints.Progress | None:
    """With `train.resume`: the resumed run's checkpoint loaded into `model`, its epochs copied
    to this run's history and its checkpoint kept by this run; the progress it starts from."""
    if job.source is None:
        return None
    started = checkpoints.restore(model, job.source.checkpoint)
    resume.copy_history(job.run_id, started.history)
    job.checkpointer(model, started)  # this run holds the checkpoint it starts from
    log.info("resuming run %s after epoch %d", job.source.run_id, started.epochs_done)
    return started


def _train(
    job: Job, model, training: Training, started: checkpoints.Progress | None
) -> TrainResult:
    """`fit`, each epoch shown and logged (`progress.epochs`) and checkpointed; then the
    run's `train/seconds`, `train/epochs_trained`, with early stopping `train/best_epoch` and
    with a curriculum the param `curriculum.schedule`."""
    import mlflow

    cfg, in_sweep = job.cfg, job.ctx.parent_run_id is not None
    with progress.epochs(
        cfg.train.progress, cfg.train.epochs, job.run_name, tracking.log_epoch, in_sweep
    ) as show_epoch:

        def on_epoch(epoch: int, metrics: dict[str, float], done: checkpoints.Progress) -> None:
            show_epoch(epoch, metrics)  # logs the epoch's metrics and shows progress
            job.checkpointer(model, done)

        result = fit(model, training, on_epoch, started)
    trained = {"train/seconds": result.seconds, "train/epochs_trained": len(result.history)}
    if result.best_epoch is not None:  # early stopping: the epoch its metric was best
        trained["train/best_epoch"] = result.best_epoch
    mlflow.log_metrics(trained)
    if result.params:
        mlflow.log_params(result.params)
    return result


def _report(job: Job, results: dict[str, SetResult], seconds: float) -> None:
    """The console's account of a finished run: the test set's summary and examples, each
    evaluation set's summary and the run's address in the MLflow UI. A sweep's job shows no
    examples (a sweep's console has a line per job; they are in the run's predictions)."""
    import mlflow

    tested = results["test"]
    shown = 0 if job.ctx.parent_run_id else job.cfg.eval.show
    lines = [f"{summary('test', tested.metrics)}  ({seconds:.1f} s training)"]
    if shown:
        lines.append(format_examples(tested.table, shown))
    log.info("%s", "\n".join(lines))
    for name, set_result in results.items():
        if name != "test":
            log.info("%s", summary(name, set_result.metrics))
    experiment_id = mlflow.active_run().info.experiment_id
    address = tracking.ui_address(mlflow.get_tracking_uri(), experiment_id, job.run_id)
    log.info("MLflow UI: %s", address)


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
        mlflow.log_params({**flatten(lenient(cfg)), **ctx.choices})
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
