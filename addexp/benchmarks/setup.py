"""Configs and models built exactly as `addexp` builds them, for the in-process sections.

Hydra composes the config from the same files and schemas as the `addexp` command; the pipeline,
the model and its compilation come from the same functions a run calls (`build_pipeline`,
`build_model`, `compile_model`), so what is timed is what a run trains and decodes with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig


def compose(overrides: Sequence[str]) -> DictConfig:
    """The config `addexp OVERRIDES` would run, interpolations resolved. Raises Hydra's errors
    for an unknown key or option, and ValueError (naming the key) for an invalid value."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from addexp.cli.entry import config_dir, register_schemas, validate
    from addexp.config.checks import ConfigError
    from addexp.config.interpolation import resolved

    register_schemas()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = hydra_compose("config", overrides=list(overrides))
    try:
        resolved(cfg)
        validate(cfg)
    except ConfigError as error:
        raise ValueError(f"addexp {' '.join(overrides)}: {error}") from None
    return cfg


@dataclass(frozen=True)
class Built:
    """A composed config, its pipeline (space, family, framing) and its Keras model."""

    cfg: DictConfig
    pipeline: Any
    model: Any


def build(overrides: Sequence[str], compile_options: dict[str, Any] | None = None) -> Built:
    """Config, pipeline and model of `addexp OVERRIDES`, compiled as a run compiles it
    (`addexp.training.fit.compile_model`); `compile_options` (`jit_compile`, `steps_per_execution`)
    then replace those options in a second Keras `compile` with the same optimizer, loss,
    metrics and the options not given (as the run compiled them)."""
    from addexp.models import build_model
    from addexp.training.fit import compile_model
    from addexp.training.pipeline import build_pipeline

    cfg = compose(overrides)
    pipeline = build_pipeline(cfg)
    model = build_model(cfg.model, pipeline.framing.shapes)
    compile_model(model, pipeline.framing, cfg.train)
    if compile_options:
        framing = pipeline.framing
        model.compile(
            optimizer=model.optimizer,
            loss=framing.loss,
            weighted_metrics=list(framing.metrics),  # with the loss's sample weights
            **{
                "jit_compile": model.jit_compile,
                "steps_per_execution": model.steps_per_execution,
                **compile_options,
            },
        )
    return Built(cfg, pipeline, model)
