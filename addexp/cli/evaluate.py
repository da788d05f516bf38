"""`addexp-eval`: evaluate an already trained run on new evaluation sets, without training.

    addexp-eval --run RUN_ID eval=length
    addexp-eval --run RUN_ID '+eval.sets.digits_6={digits: 6}' eval.examples=500
    addexp-eval --run RUN_ID eval=length_study model.beam_width=4   # logged as beam4/<set>/...

The overrides compose the `eval` section exactly as `addexp` would (config group and keys); the
rest of the config is the run's own. Each set is drawn from the stream it would have had in
training, scored through the same decode step, and logged to the run (MLflow accepts metrics
and artifacts on a finished run; its params and status stay as they are), with a tag
`eval.added.<UTC time>` saying what was added. Training questions are redrawn from the run's
seed (the epochs it trained, chunk by chunk, marking the questions of the sets evaluated), so
`<set>/train_overlap` is measured, not guessed. A decoding option may be changed too
(`model.beam_width`, which leaves the weights alone); its metrics are then logged under
`beam<width>/<set>/...`, beside the run's own.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from addexp.cli import EXIT_USAGE, add_verbose, command, console
from addexp.cli.entry import start
from addexp.evaluation.metrics import summary

DECODING = "model.beam_width"  # the one model key a finished run may be decoded with anew


def compose_eval(run_cfg, overrides: list[str]):
    """The run's config with its `eval` section composed afresh from `overrides` (keys must
    start with `eval`), as `addexp` would compose it. Raises ValueError naming a key outside
    `eval`, and Hydra's errors for a bad option."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from addexp.cli.entry import config_dir, register_schemas
    from addexp.tracking.logged_run import RunError, parse_beam_width, with_beam_width

    decoding = [o for o in overrides if o.startswith(DECODING)]
    outside = [o for o in overrides if not o.lstrip("+~").startswith("eval") and o not in decoding]
    if outside:
        raise ValueError(
            f"{', '.join(outside)}: addexp-eval changes only the evaluation (eval=OPTION, "
            f"eval.KEY=VALUE) and decoding ({DECODING}=N); everything else is the run's own."
        )
    register_schemas()
    eval_overrides = [o for o in overrides if o not in decoding]
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        composed = compose("config", overrides=eval_overrides)
    cfg = OmegaConf.create(OmegaConf.to_container(run_cfg))  # the run's own values
    for override in decoding:
        try:
            width = parse_beam_width(override.split("=", 1)[1])
        except RunError as error:
            raise ValueError(f"{DECODING}={error}") from None
        cfg = with_beam_width(cfg, width)
    cfg.eval = composed.eval  # typed and checked by the schema
    return cfg


def _trained_pipeline(cfg, logged):
    """The run's pipeline with the evaluation sets of `cfg`, in the layout it was trained with
    (a fixed layout does not widen for new sets). Raises ConfigError naming a set the trained
    layout cannot read."""
    from addexp.evaluation.checks import check_readable
    from addexp.training.pipeline import build_pipeline

    pipeline = build_pipeline(cfg)
    named = {f"eval.sets.{s.name}": s.space for s in pipeline.sets}
    check_readable(logged.pipeline.framing, pipeline.family, named, trained=True)
    return dataclasses.replace(pipeline, framing=logged.pipeline.framing)


def parser() -> argparse.ArgumentParser:
    from addexp.tracking.logged_run import add_run_arguments

    p = argparse.ArgumentParser(
        prog="addexp-eval",
        description="Evaluate a trained addexp run on new evaluation sets and log them to it.",
    )
    p.add_argument("overrides", nargs="*", help="eval=length, eval.sets=..., eval.examples=N")
    add_run_arguments(p)
    add_verbose(p)
    return p


def _monitored(logged) -> list[dict[str, float]]:
    """The per-epoch values of the metric a run's curriculum monitored, by epoch ([] without a
    curriculum): what its schedule, and so its training data, followed."""
    from mlflow.tracking import MlflowClient

    curriculum = logged.cfg.train.get("curriculum")
    if curriculum is None or curriculum.name == "none":
        return []
    logged_values = MlflowClient(logged.uri).get_metric_history(logged.run_id, curriculum.monitor)
    return [{curriculum.monitor: m.value} for m in sorted(logged_values, key=lambda m: m.step)]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console(args.verbose)
    start("addexp-eval")
    import mlflow
    from hydra.errors import HydraException
    from mlflow.tracking import MlflowClient
    from omegaconf.errors import OmegaConfBaseException

    from addexp.cli.entry import validate
    from addexp.config.checks import ConfigError
    from addexp.tracking.logged_run import RunError, open_run
    from addexp.tracking.results import draw_sets, evaluate_sets, log_results, watched_keys
    from addexp.training.fit import Training, replay_seen_keys
    from addexp.training.pipeline import draw_test_set, training_streams

    try:
        logged = open_run(args.run, args.uri)
        cfg = compose_eval(logged.cfg, list(args.overrides))
        validate(cfg)
        if not cfg.eval.sets:
            raise ConfigError(
                "no evaluation set to add: choose eval=length, eval=terms or give eval.sets."
            )
        pipeline = _trained_pipeline(cfg, logged)
        model = logged.load_model()
    except (RunError, ConfigError, ValueError, HydraException, OmegaConfBaseException) as error:
        print(f"addexp-eval: {error}", file=sys.stderr)
        return EXIT_USAGE
    _, exclude = draw_test_set(cfg, pipeline.space)
    sets = draw_sets(pipeline, cfg.seed)
    watched = watched_keys(list(sets.values()))
    training = Training(pipeline, cfg.train, training_streams(cfg), watched, exclude)
    seen = replay_seen_keys(training, logged.epochs_trained, _monitored(logged))
    results = evaluate_sets(model, pipeline, sets, seen)
    if cfg.model.get("beam_width") != logged.cfg.model.get("beam_width"):
        results = {f"beam{cfg.model.beam_width}/{name}": r for name, r in results.items()}
    mlflow.set_tracking_uri(logged.uri)
    with tempfile.TemporaryDirectory() as folder:
        log_results(results, Path(folder), logged.run_id)
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    MlflowClient(logged.uri).set_tag(
        logged.run_id,
        f"eval.added.{when}",
        f"sets {', '.join(results)} by addexp-eval {' '.join(args.overrides)}",
    )
    for name, result in results.items():
        print(f"{summary(name, result.metrics)}  ({result.metrics['seconds']:.2f} s)")
    print(f"logged to run {logged.run_id} in {logged.uri}")
    return 0


script = command(main)  # the console script: exits as soon as main is done

if __name__ == "__main__":
    script()
