"""The `addexp` command: the Hydra application (`addexp --help`, `--cfg job`, `key=value`, `-m`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported anywhere

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from addexp.config import ConfigError, register_schemas, validate


def config_dir() -> str:
    """`conf/` shipped inside the package (wheel install), else the source tree's (editable)."""
    packaged = Path(__file__).parent / "conf"
    return str(packaged if packaged.is_dir() else Path(__file__).parent.parent / "conf")


register_schemas()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(cfg: DictConfig) -> float:
    try:
        validate(cfg)
    except ConfigError as error:
        print(f"addexp: invalid configuration: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    from addexp.run import RunContext, run

    hydra_cfg = HydraConfig.get()
    ctx = RunContext(
        launch_dir=Path(hydra_cfg.runtime.cwd),
        output_dir=Path(hydra_cfg.runtime.output_dir),
        preset=hydra_cfg.runtime.choices.get("experiment"),
        overrides=tuple(hydra_cfg.overrides.task),
    )
    return run(cfg, ctx)


if __name__ == "__main__":
    main()
