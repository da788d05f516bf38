"""Everything MLflow will be given fits MLflow's limits, checked before a run opens so that
nothing is refused or cut afterwards."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from addexp.config.checks import ConfigError
from addexp.config.schema import flatten

# MLflow's limits (mlflow.utils.validation), checked here so that nothing is refused or cut
# after a run opened: param keys and metric keys, param values, experiment and run names.
MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH, MAX_NAME_LENGTH = 250, 6000, 500


def check_tracking_limits(cfg: Any) -> None:
    """Every value MLflow will be given fits MLflow's limits (a set's name is in param keys that
    are longer than its metric keys, so checking params covers both)."""
    sections = {
        key: OmegaConf.to_container(cfg[key], resolve=True)
        if OmegaConf.is_config(cfg[key])
        else cfg[key]
        for key in cfg
        if key != "hydra"  # Hydra's own node, present when a test composes it, is not logged
    }
    params = flatten(sections)
    for key, value in params.items():
        if len(key) > MAX_KEY_LENGTH - len("derived."):
            raise ConfigError(
                f"{key[:60]}... is a key of {len(key)} characters; MLflow takes param keys of "
                f"at most {MAX_KEY_LENGTH}."
            )
        if len(value) > MAX_PARAM_VALUE_LENGTH:
            raise ConfigError(
                f"{key} holds {len(value)} characters; MLflow keeps param values of at most "
                f"{MAX_PARAM_VALUE_LENGTH} (shorten it)."
            )
    check_experiment_name(params.get("tracking.experiment", "addexp"))
    check_model_name(OmegaConf.select(cfg, "tracking.register"), cfg.tracking.log_model)
    for key in ("tracking.experiment", "tracking.run_name"):
        value = params.get(key, "null")
        if len(value) > MAX_NAME_LENGTH:
            raise ConfigError(
                f"{key} has {len(value)} characters; MLflow takes at most {MAX_NAME_LENGTH}."
            )


def check_experiment_name(name: Any) -> None:
    """MLflow refuses an empty experiment name only once it is asked to create it, with a
    traceback. Raises ConfigError for an empty or blank `tracking.experiment`."""
    if not str(name).strip():
        raise ConfigError(
            "tracking.experiment is empty (set so, or by an empty MLFLOW_EXPERIMENT_NAME); "
            "MLflow needs an experiment name: give one, or leave it at its default, addexp."
        )


FORBIDDEN = "/:@"  # they would end a registered model's name inside a models:/ URI


def check_model_name(name: Any, log_model: bool = True) -> None:
    """`tracking.register`: None, or a registered model's name (non-empty, none of FORBIDDEN)
    for a run that logs its model. Raises ConfigError."""
    if name is None:
        return
    if not isinstance(name, str) or not name.strip() or any(c in name for c in FORBIDDEN):
        raise ConfigError(
            f"tracking.register={name!r}: a registered model's name is a non-empty string "
            f"without {', '.join(repr(c) for c in FORBIDDEN)} (e.g. tracking.register=adder), "
            "or null to register nothing."
        )
    if not log_model:
        raise ConfigError(
            f"tracking.register={name} needs the model the run logs: leave tracking.log_model "
            "at true, or register nothing (tracking.register=null)."
        )
