"""One experiment end to end: config -> problems -> text -> model -> metrics -> MLflow."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from addexp import tracking
from addexp.evaluate import format_examples, predictions_table, score
from addexp.framings import expected_chars, make_framing
from addexp.interpolation import lenient
from addexp.models import build_model
from addexp.problems import overlap, question_keys, sample, space_from_config
from addexp.train import compile_model, fit

log = logging.getLogger("addexp")

TRAIN_STREAM, TEST_STREAM = (
    0,
    1,
)  # independent NumPy streams per seed: test data is never trained on


@dataclass(frozen=True)
class RunContext:
    """Where the run was launched and writes, as Hydra reports it."""

    launch_dir: Path
    output_dir: Path
    preset: str | None = None
    overrides: tuple[str, ...] = ()
    parent_run_id: str | None = None  # set inside a tracked sweep: this run is its child
    run_name: str | None = None  # default name (a sweep child's swept values)
    threads: int = 0  # TensorFlow threads when train.threads is 0 (parallel sweeps)
    store: tracking.Store | None = None  # opened and checked store (a sweep's); None: open it


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
    """Train and evaluate the configured experiment, log it to MLflow; return `eval.objective`."""
    import keras
    import mlflow

    threads = cfg.train.threads or ctx.threads
    limit_threads(threads)
    keras.backend.clear_session()  # jobs of a sweep share the process: start each one clean
    keras.utils.set_random_seed(cfg.seed)  # Python, NumPy and TensorFlow
    space = space_from_config(cfg.data)
    framing = make_framing(cfg, space)
    experiment_id, run_name, tags = _open_tracking(cfg, ctx)
    tags["framing"] = framing.name

    with tracking.tracked_run(experiment_id, run_name, tags) as run_id:
        log.info("MLflow run %s (%s) in %s", run_id, run_name, mlflow.get_tracking_uri())
        resolved = OmegaConf.to_container(cfg, resolve=True)
        mlflow.log_params(tracking.flatten(resolved))
        mlflow.log_dict(resolved, "config/resolved.yaml")
        mlflow.log_dict({"overrides": list(ctx.overrides)}, "config/overrides.yaml")
        mlflow.log_params(derived_params(space, framing, threads))

        model = build_model(cfg.model, framing.shapes)
        compile_model(model, framing, cfg.train)
        test = sample(space, cfg.eval.examples, np.random.default_rng([cfg.seed, TEST_STREAM]))
        exclude = np.unique(question_keys(test)) if cfg.eval.disjoint else None
        rng_train = np.random.default_rng([cfg.seed, TRAIN_STREAM])
        result = fit(model, framing, space, cfg.train, rng_train, tracking.log_epoch, exclude)

        answers = framing.answers(model.predict(framing.inputs(test), batch_size=1024, verbose=0))
        expected = expected_chars(framing.text_format, test)
        metrics = score(test, expected, answers)
        metrics["train_overlap"] = overlap(test, result.seen_keys)
        mlflow.log_metrics({f"test/{k}": v for k, v in metrics.items()})
        mlflow.log_metrics({"train/seconds": result.seconds})

        table = predictions_table(test, expected, answers)
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        _write_csv(table, ctx.output_dir / "predictions.csv")
        mlflow.log_artifact(str(ctx.output_dir / "predictions.csv"))
        if result.history:
            from addexp.plots import learning_curves

            plot = learning_curves(result.history, ctx.output_dir / "learning_curves.png", run_name)
            mlflow.log_artifact(str(plot))
        if cfg.tracking.log_model:
            _log_model(model, framing.inputs(test.take(slice(0, 5))))

        log.info(
            "test: exact_match %.4f  char_accuracy %.4f  rmse %.3f  invalid %.4f  "
            "train_overlap %.3f  (%.1f s training)\n%s",
            metrics["exact_match"],
            metrics["char_accuracy"],
            metrics["rmse"],
            metrics["invalid_rate"],
            metrics["train_overlap"],
            result.seconds,
            format_examples(table, cfg.eval.show),
        )
    return _objective(cfg.eval.objective, metrics, result.history)


def _objective(name: str, test_metrics: dict[str, float], history: list[dict]) -> float:
    """The value a sweeper optimises: a final test metric or the last epoch's validation one."""
    split, metric = name.split("/", 1)
    return test_metrics[metric] if split == "test" else history[-1][name]


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
        mlflow.log_params(tracking.flatten(lenient(cfg)))
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


def _write_csv(table: dict, path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.keys())
        writer.writerows(zip(*(column.tolist() for column in table.values()), strict=True))


def _log_model(model, example: np.ndarray) -> None:
    """The Keras 3 flavour; requirements are stated, not inferred (inference reloads the model)."""
    import keras
    import mlflow
    import tensorflow as tf
    from mlflow.models import infer_signature

    signature = infer_signature(example, model.predict(example, verbose=0))
    mlflow.keras.log_model(
        model,
        name="model",
        signature=signature,
        pip_requirements=[f"keras=={keras.__version__}", f"tensorflow=={tf.__version__}"],
    )
