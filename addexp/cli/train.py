"""The `addexp` command: the Hydra application (`addexp --help`, `--cfg job`, `key=value`, `-m`).

Before anything is trained, every interpolation is resolved, the tracking store checked and the
config validated; a mistake is one paragraph on stderr and exit status 2. In a sweep a job
never raises: whatever stops it is recorded as a FAILED child of the sweep's parent run and the
sweep goes on (see `addexp.sweeps.callback`).

`addexp --help` is answered before Hydra runs (`addexp.cli.usage`); MLflow is imported only
when a run or a sweep needs it, so that help is immediate.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from addexp.cli import EXIT_USAGE, console, hydra_verbose
from addexp.cli.entry import config_dir, register_schemas, start, validate
from addexp.config.checks import ConfigError
from addexp.config.interpolation import resolved
from addexp.config.presets import run_preset
from addexp.registry import RegistryError
from addexp.tracking import environment
from addexp.tracking.store_checks import StoreError
from addexp.training import faults

if TYPE_CHECKING:
    from addexp.sweeps.link import JobFailed, SweepLink
    from addexp.tracking import store as tracking

log = logging.getLogger("addexp")


def _context(hydra_cfg, link: SweepLink | None, store: tracking.Store | None):
    """The run's context (what Hydra and the sweep say about where it runs and logs)."""
    from addexp.sweeps.callback import child_name
    from addexp.tracking.context import RunContext

    overrides = tuple(OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False))
    return RunContext(
        launch_dir=_launch_dir(hydra_cfg, link),
        output_dir=Path(hydra_cfg.runtime.output_dir),
        preset=run_preset(hydra_cfg.runtime.choices, Path(config_dir())),
        overrides=overrides,
        parent_run_id=link.parent_run_id if link else None,
        run_name=child_name(list(overrides), link.keys) if link else None,
        threads=link.threads if link else 0,
        store=store,
        choices={
            group: str(option)
            for group, option in hydra_cfg.runtime.choices.items()
            if option is not None and not group.startswith("hydra/")
        },
    )


def _launch_dir(hydra_cfg, link: SweepLink | None) -> Path:
    """Where addexp was launched: the sweep controller's folder, whatever folder a job runs in."""
    return Path(link.launch_dir if link else hydra_cfg.runtime.cwd)


def _check_tracking(cfg: DictConfig, link: SweepLink) -> None:
    """A job must track exactly where its sweep's parent does (a preset or an interpolation may
    say otherwise for one job: that job fails, loudly, instead of logging elsewhere)."""
    from addexp.tracking import store as tracking

    launch_dir = Path(link.launch_dir)
    own = resolved(cfg.tracking, root=cfg)
    differs = {
        "tracking.uri": (tracking.resolve_uri(own["uri"], launch_dir), link.store.uri),
        "tracking.experiment": (own["experiment"], link.store.experiment),
        "tracking.artifact_location": (
            tracking.resolve_artifact_location(own["artifact_location"], launch_dir),
            link.configured_artifact_location,
        ),
    }
    for key, (mine, sweeps) in differs.items():
        if mine != sweeps:
            raise ConfigError(
                f"{key} is {mine} in this job but {sweeps} for its sweep; a sweep keeps its "
                "parent run and every job in one experiment of one store, so set tracking.* "
                "once for the whole sweep (on the command line, not in a swept preset)."
            )


def _refuse(cfg: DictConfig, hydra_cfg, link: SweepLink | None, error: Exception) -> JobFailed:
    """Report a mistake found before training: exit 2 for a single run; in a sweep a FAILED
    child saying why, and the sweep goes on."""
    from addexp.sweeps.link import JobFailed

    label = "tracking store unusable" if isinstance(error, StoreError) else "invalid configuration"
    known = isinstance(error, ConfigError | StoreError)
    message = str(error) if known else f"{type(error).__name__}: {error}"
    print(f"addexp: {label}: {message}", file=sys.stderr)
    if hydra_cfg.mode != RunMode.MULTIRUN:
        raise SystemExit(EXIT_USAGE)
    if link is not None:
        from addexp.tracking.runner import record_invalid

        try:
            record_invalid(
                cfg, _context(hydra_cfg, link, link.store), f"{type(error).__name__}: {error}"
            )
        except Exception:  # the sweep's end counts this job as one that recorded no run
            log.exception("the failed job could not be recorded in %s", link.store.uri)
    return JobFailed(message)


with contextlib.suppress(RegistryError):  # for a launcher's jobs too; `cli` reports it
    register_schemas()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(cfg: DictConfig) -> float | JobFailed:
    from addexp.sweeps.link import JobFailed, SweepLink
    from addexp.tracking import store as tracking

    faults.install()
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    link = SweepLink.of_job(hydra_cfg) if multirun else None
    if link is not None:  # the sweep's MLflow variables, wherever this job runs
        environment.adopt(link.environment)
        environment.ignore()
    try:
        if link is not None:
            _check_tracking(cfg, link)
        resolved(cfg)
        validate(cfg)  # before the store: an invalid config leaves no new store behind
        store = (
            link.store if link else tracking.open_store(cfg.tracking, Path(hydra_cfg.runtime.cwd))
        )
        if cfg.train.resume:
            from addexp.tracking.resume import check

            check(cfg, _launch_dir(hydra_cfg, link))
    except (ConfigError, StoreError) as error:
        return _refuse(cfg, hydra_cfg, link, error)
    except Exception as error:  # a check that broke on this job's config: in a sweep, go on
        if not multirun:
            raise
        return _refuse(cfg, hydra_cfg, link, error)
    from addexp.tracking.runner import run

    try:
        return run(cfg, _context(hydra_cfg, link, store))
    except KeyboardInterrupt as stop:  # ends the process, a sweep too (exit 128 + signal)
        return faults.report(stop, multirun)
    except faults.Diverged as stop:  # one line; in a sweep a FAILED child, the sweep goes on
        faults.report(stop, multirun)
        return JobFailed(str(stop))
    except Exception as error:
        if not multirun:
            raise
        log.exception("job failed; its MLflow run is marked FAILED and the sweep goes on")
        return JobFailed(f"{type(error).__name__}: {error}")


def cli() -> None:
    """The console script (`addexp`, `python -m addexp`): `main`, with an interrupt that reaches
    the process outside any run (while Hydra starts a job, between a sweep's jobs, in a parallel
    sweep's controller) told in one line too. `--help` is addexp's (`addexp.cli.usage`), its
    composition errors reported as any run's."""
    from addexp.cli import usage
    from addexp.config.hydra_errors import is_composition_error, one_paragraph, preset_advice

    console(hydra_verbose(sys.argv[1:]))  # before TensorFlow and MLflow are imported
    start("addexp")
    full_errors = os.environ.get("HYDRA_FULL_ERROR") == "1"  # the user asked for tracebacks
    os.environ["HYDRA_FULL_ERROR"] = "1"  # composition errors reach us instead of Hydra's report
    help_asked = usage.requested(sys.argv[1:])
    try:
        if help_asked:
            usage.show(help_asked)
        else:
            main()
    except KeyboardInterrupt as stop:
        faults.report(stop, in_sweep=False)
    except Exception as error:
        if full_errors or not is_composition_error(error):
            raise
        advice = preset_advice(error, sys.argv[1:], Path(config_dir()))
        message = " ".join(filter(None, [one_paragraph(error), advice]))
        print(f"addexp: invalid configuration: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


if __name__ == "__main__":
    cli()
