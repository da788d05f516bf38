"""The `addexp` command: the Hydra application (`addexp --help`, `--cfg job`, `key=value`, `-m`)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported anywhere
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a clean console

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from addexp import faults
from addexp.config import register_schemas
from addexp.sweep import child_name, read_sweep
from addexp.validation import ConfigError, validate

log = logging.getLogger("addexp")


def config_dir() -> str:
    """`conf/` shipped inside the package (wheel install), else the source tree's (editable)."""
    packaged = Path(__file__).parent / "conf"
    return str(packaged if packaged.is_dir() else Path(__file__).parent.parent / "conf")


def _auto_threads(hydra_cfg) -> int:
    """TensorFlow threads per job so that parallel jobs x threads fits the CPUs a launcher gives
    each job (joblib: cores / n_jobs; SLURM: cpus_per_task; Ray: remote.num_cpus); 0: no limit."""
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return 0
    launcher = hydra_cfg.launcher
    if launcher.get("n_jobs"):
        cores, n_jobs = os.cpu_count() or 1, launcher.n_jobs
        return max(1, cores // (cores if n_jobs < 0 else n_jobs))
    if launcher.get("cpus_per_task"):
        return int(launcher.cpus_per_task)
    ray_cpus = launcher.get("ray", {}).get("remote", {}).get("num_cpus")
    return int(ray_cpus) if ray_cpus else 0


def _context(hydra_cfg):
    from addexp.context import RunContext

    sweep = read_sweep(Path(hydra_cfg.sweep.dir)) if hydra_cfg.mode == RunMode.MULTIRUN else None
    overrides = tuple(hydra_cfg.overrides.task)
    return RunContext(
        launch_dir=Path(hydra_cfg.runtime.cwd),
        output_dir=Path(hydra_cfg.runtime.output_dir),
        preset=hydra_cfg.runtime.choices.get("experiment"),
        overrides=overrides,
        parent_run_id=sweep["parent_run_id"] if sweep else None,
        run_name=child_name(list(overrides), sweep["keys"]) if sweep else None,
        threads=_auto_threads(hydra_cfg),
    )


register_schemas()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(cfg: DictConfig) -> float:
    faults.install()
    hydra_cfg = HydraConfig.get()
    ctx = _context(hydra_cfg)
    in_sweep = ctx.parent_run_id is not None
    try:
        validate(cfg)
        if cfg.train.resume:
            from addexp.resume import check

            check(cfg, ctx.launch_dir)
    except ConfigError as error:
        print(f"addexp: invalid configuration: {error}", file=sys.stderr)
        if not in_sweep:
            raise SystemExit(2) from None
        from addexp.run import record_invalid

        record_invalid(cfg, ctx, str(error))  # a FAILED child; the sweep goes on
        return float("nan")
    from addexp.run import run

    try:
        return run(cfg, ctx)
    except (KeyboardInterrupt, faults.Diverged) as stop:
        return faults.report(stop, in_sweep)
    except Exception:
        if not in_sweep:
            raise
        log.exception("job failed; its MLflow run is marked FAILED and the sweep goes on")
        return float("nan")


def cli() -> None:
    """The console script (`addexp`, `python -m addexp`): `main`, with an interrupt that reaches
    the process outside any run (while Hydra starts a job, between a sweep's jobs, in a parallel
    sweep's controller) told in one line too."""
    try:
        main()
    except KeyboardInterrupt as stop:
        faults.report(stop, in_sweep=False)


if __name__ == "__main__":
    cli()
