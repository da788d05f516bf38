"""What every command shares before it does its work: the schemas Hydra composes with, and the
checks of a composed config, asked of each part in the order the data flows.

`validate` imports no TensorFlow, so a mistake is reported as fast as Hydra composes the config.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from addexp.cli import EXIT_USAGE
from addexp.config.checks import at_least, known_keys
from addexp.config.schema import AddexpConfig
from addexp.evaluation.checks import check_eval
from addexp.evaluation.metrics import METRICS, direction
from addexp.framing.framings import FRAMINGS
from addexp.models import FAMILIES
from addexp.models.checks import check_model
from addexp.models.compatibility import check_framing, check_position_hints
from addexp.problems.checks import check_problem
from addexp.problems.operations import OPERATIONS
from addexp.problems.space import space_from_config
from addexp.registry import RegistryError
from addexp.text.formats import FORMATS
from addexp.tracking import environment
from addexp.tracking.checks import check_tracking_limits
from addexp.training.checks import check_train

PARTS = (FAMILIES, FRAMINGS, FORMATS, OPERATIONS, METRICS)  # every registry of parts


def start(program: str) -> None:
    """What every command does first: drop the MLflow variables addexp ignores, with a note
    each (`addexp.tracking.environment`), and load every part (`require_parts`)."""
    environment.ignore(program=program)
    require_parts(program)


def require_parts(program: str) -> None:
    """Load every registry's parts (addexp's own and other installed packages'); a part that
    cannot be used (two of one name, one that does not load) ends `program` with its one
    paragraph on stderr and EXIT_USAGE, before anything is read or run."""
    try:
        for registry in PARTS:
            list(registry)
    except RegistryError as error:
        print(f"{program}: an installed part cannot be used: {error}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def validate(cfg: Any) -> None:
    """Check the ranges and combinations that types cannot express; raise ConfigError (one
    paragraph naming the key) on the first. Interpolations must resolve first
    (`addexp.config.interpolation.resolved`)."""
    known_keys(cfg)
    family = check_model(cfg)
    at_least("seed", cfg.seed, 0)
    check_problem("data.", cfg.data)
    space = space_from_config(cfg.data)
    check_framing(cfg, family, space)
    check_train(cfg, space)
    check_position_hints(cfg, family)
    if family.check_run is not None:
        family.check_run(cfg)
    check_eval(cfg, space, family)
    check_tracking_limits(cfg)


def config_dir() -> str:
    """`conf/` shipped inside the package (wheel install), else the source tree's (editable)."""
    package = Path(__file__).parent.parent
    packaged = package / "conf"
    return str(packaged if packaged.is_dir() else package.parent / "conf")


def register_schemas() -> None:
    """Register the schemas in Hydra's ConfigStore: the whole run's (`addexp_schema`) and every
    registered family's (`model_schema_NAME`, outside any group: not a choice to offer); the
    YAML files extend them through their defaults lists. Also the resolver
    `${addexp.direction:OBJECTIVE}`: "maximize" or "minimize" as the objective's metric says
    (a search's `hydra.sweeper.direction` follows `eval.objective` with it)."""
    if not OmegaConf.has_resolver("addexp.direction"):
        OmegaConf.register_new_resolver("addexp.direction", direction)
    store = ConfigStore.instance()  # raises RegistryError if a family's part cannot be used
    store.store(name="addexp_schema", node=AddexpConfig)
    for name, family in FAMILIES.items():
        store.store(name=f"model_schema_{name}", node=family.schema)
