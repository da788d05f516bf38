"""What a sweep will run, decided from the controller's config before any job starts.

The controller reads only its own Hydra config and the overrides as typed (never resolving a
job's interpolations), and:

- refuses sweeps whose jobs would track to different places: a parent run and its children live
  in one experiment of one store, so `tracking.uri`, `tracking.experiment` and
  `tracking.artifact_location` cannot vary between jobs;
- in a search (any sweeper but Hydra's basic one) leaves out the sweep a preset brings along
  (`experiment=ext_masking` sweeps `encoding.masking` and `seed`), saying so, and refuses to tune
  `seed`: a search would pick the luckiest seed, not the best settings;
- notes what a config group swept per job cannot change for the sweep: a preset's own sweep, or
  the sweeper or launcher it chooses (the controller's run every job);
- counts the jobs when the sweeper says in advance, and sizes TensorFlow's threads for the
  launcher that actually runs the jobs;
- composes every job of a grid before any runs, and refuses the sweep naming each job whose
  overrides do not compose (a value of the wrong type, an unknown key or option, a preset's keys
  on another option): Hydra's launchers compose a job only as they start it, and stop the whole
  sweep at the first that fails, leaving the jobs after it unrun and unrecorded.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from addexp.config.checks import ConfigError
from addexp.tracking.store import TRACKING_KEYS

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


@dataclass
class Plan:
    keys: list[str]  # swept keys, in sweep order
    jobs: int | None  # jobs planned; None when the sweeper does not say in advance
    threads: int  # TensorFlow threads per job; 0: no limit
    notes: list[str] = field(default_factory=list)  # for the user, before the jobs run


def plan(config: DictConfig) -> Plan:
    """Check and plan the sweep; may remove a preset's params from a search's sweeper params.

    Raises ConfigError for a sweep that cannot keep its promises (see the module docstring).
    """
    task = [str(o) for o in OmegaConf.to_container(config.hydra.overrides.task, resolve=False)]
    notes = []
    if is_search(config):
        notes += _leave_out_preset_sweep(config, task)
    params = _params(config)
    keys = swept_keys(task, params)
    _refuse_tracking_keys(keys)
    if is_search(config) and "seed" in keys:
        raise ConfigError(
            "seed is in the search space; a search must not tune the seed, as it would pick "
            "the luckiest seed rather than the best settings. Fix it (seed=1, not seed=1,2) "
            "and compare the best settings over seeds afterwards: addexp -m seed=1,2,3 ..."
        )
    notes += _group_sweep_notes(config, task) + _repeated_keys(task)
    grid = _grid(config, task, params)
    if grid is not None:
        _refuse_uncomposable(config, grid)
    jobs = len(grid) if grid is not None else _trials(config)
    return Plan(keys, jobs, threads_per_job(config.hydra.launcher, jobs), notes)


def is_search(config: DictConfig) -> bool:
    """A sweeper other than Hydra's basic grid (Optuna, Nevergrad, Ax...)."""
    return str(config.hydra.sweeper.get("_target_", BASIC_SWEEPER)) != BASIC_SWEEPER


def _parse(overrides: list[str]) -> list[Override]:
    hydra = GlobalHydra.instance()
    loader = hydra.config_loader() if hydra.is_initialized() else None
    return OverridesParser.create(config_loader=loader).parse_overrides(overrides)


def _params(config: DictConfig) -> dict[str, str]:
    params = config.hydra.sweeper.get("params")
    if not params:
        return {}
    return {str(k): str(v) for k, v in OmegaConf.to_container(params, resolve=False).items()}


def plain_key(override: Override) -> str:
    """The config key an override sets, however it is written: `++train.batch_size=16,32`,
    `+train.batch_size=...` and `train.batch_size=...` all name `train.batch_size` (a group
    chosen into a package keeps it: `model@extra`). Run names, `sweep.keys`, the parent's tags,
    `addexp-compare` and the logged params all name a key so."""
    key = override.key_or_group
    return f"{key}@{override.package}" if override.package else key


def swept_keys(task_overrides: list[str], sweeper_params: dict | None) -> list[str]:
    """Plain keys (`plain_key`) a sweep varies, in sweep order: command-line sweep overrides
    (a=1,2 / range / choice / glob ...) and the sweeper's own `params` (presets and search
    spaces)."""
    last: dict[str, Override] = {}  # Hydra keeps a key's last override: it is where it sweeps
    for override in _parse(list(task_overrides)):
        last.pop(plain_key(override), None)
        last[plain_key(override)] = override
    keys = [key for key, override in last.items() if override.is_sweep_override()]
    params = [f"{k}={v}" for k, v in (sweeper_params or {}).items()]
    for key in (plain_key(o) for o in _parse(params)):
        if key not in keys:
            keys.append(key)
    return keys


def job_values(job_overrides: list[str]) -> dict[str, str]:
    """A job's overrides as {plain key: value as typed}: strings without the escapes Hydra adds
    to a job's overrides (`$\\{` for `${`), quoted when they hold a comma; `null`; `~` for a
    deleted key; anything else as Hydra's grammar writes it."""
    values = {}
    for override in _parse(list(job_overrides)):
        value = override.value()
        if override.is_delete():
            text = "~"
        elif value is None:
            text = "null"
        elif isinstance(value, str):
            text = re.sub(r"\\(.)", r"\1", value)
            text = f'"{text}"' if "," in text else text
        else:
            text = override.get_value_element_as_str()
        values[plain_key(override)] = text
    return values


def _refuse_tracking_keys(keys: list[str]) -> None:
    swept = [k for k in keys if k in TRACKING_KEYS]
    if swept:
        raise ConfigError(
            f"{', '.join(swept)} cannot be swept: a sweep keeps its parent run and every job in "
            f"one experiment of one store, so {', '.join(TRACKING_KEYS)} are set once for the "
            "whole sweep. Run one sweep per value instead (addexp -m tracking.experiment=a ...)."
        )


def _fixed(task: list[str], drop: tuple[str, ...] = ()) -> list[str]:
    """The task overrides that are not sweeps, without those of the `drop` keys."""
    return [
        o.input_line
        for o in _parse(task)
        if not o.is_sweep_override() and o.key_or_group not in drop
    ]


def _leave_out_preset_sweep(config: DictConfig, task: list[str]) -> list[str]:
    """Remove from a search's params those only the experiment preset brings; a note saying so."""
    preset = config.hydra.runtime.choices.get("experiment")
    params = config.hydra.sweeper.get("params")
    if not preset or not params:
        return []
    loader = GlobalHydra.instance().config_loader()
    without = loader.load_sweep_config(config, _fixed(task, drop=("experiment",)))
    own = set(without.hydra.sweeper.get("params") or {})
    dropped = [str(k) for k in params if k not in own]
    if not dropped:
        return []
    with read_write(config.hydra), open_dict(config.hydra):
        for key in dropped:
            del config.hydra.sweeper.params[key]
    return [
        f"experiment={preset} brings its own sweep over {', '.join(dropped)}; a search leaves "
        "it out of the search space, and every trial takes the preset's own values for them."
    ]


def _group_sweep_notes(config: DictConfig, task: list[str]) -> list[str]:
    """Per value of a swept config group: what its config would change for the sweep, in vain."""
    choices = config.hydra.runtime.choices
    loader = GlobalHydra.instance().config_loader()
    fixed = _fixed(task)
    sweeper_keys = set(config.hydra.sweeper.get("params") or {})
    notes = []
    for override in _parse(task):
        group = override.get_key_element()
        if not (override.is_sweep_override() and override.is_discrete_sweep()):
            continue
        if group not in choices:
            continue
        for value in override.sweep_string_iterator():
            try:
                job = loader.load_sweep_config(config, [*fixed, f"{group}={value}"])
            except Exception:  # the sweeper reports a job that cannot be composed
                continue
            own = [str(k) for k in job.hydra.sweeper.get("params") or {} if k not in sweeper_keys]
            if own:
                notes.append(
                    f"{group}={value} brings its own sweep over {', '.join(own)}, which only "
                    f"runs when it is swept alone (addexp -m {group}={value}); here each "
                    f"{group} runs once, with its own values for them."
                )
            for part in ("sweeper", "launcher"):
                mine = str(config.hydra[part].get("_target_")).rsplit(".", 1)[-1]
                theirs = str(job.hydra[part].get("_target_")).rsplit(".", 1)[-1]
                if theirs != mine:
                    notes.append(
                        f"{group}={value} chooses the {part} {theirs}, but one {part} serves "
                        f"the whole sweep: {mine}. Choose it on the command line "
                        f"(addexp -m hydra/{part}=...) to use it."
                    )
    return notes


def _grid(config: DictConfig, task: list[str], params: dict[str, str]) -> list[list[str]] | None:
    """Every job's overrides, for Hydra's basic sweeper (a grid); None for a search, or for
    overrides the sweeper itself will report as unparsable."""
    if is_search(config):
        return None
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    try:
        grid = _parse([f"{k}={v}" for k, v in params.items()] + task)
    except Exception:  # the sweeper reports what it cannot parse
        return None
    _refuse_drawn(grid)
    return [list(job) for job in BasicSweeper.split_arguments(grid, None)[0]]


def _trials(config: DictConfig) -> int | None:
    """The trials a search will run, when it says in advance (not a grid sampler's)."""
    sweeper = config.hydra.sweeper
    sampler = str(sweeper.get("sampler", {}).get("_target_", ""))
    trials = sweeper.get("n_trials")
    return int(trials) if trials and not sampler.endswith("GridSampler") else None


def _refuse_uncomposable(config: DictConfig, grid: list[list[str]]) -> None:
    """Compose each job as its launcher will (`load_sweep_config`). Raises ConfigError naming
    every job that does not compose, each with its reason in one sentence (and, for a preset's
    keys on another option, what to choose instead)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from addexp.config.hydra_errors import one_paragraph, preset_advice

    loader = GlobalHydra.instance().config_loader()
    conf = conf_dir(config)
    shared = set.intersection(*(set(job) for job in grid)) if len(grid) > 1 else set()
    refused: dict[str, list[str]] = {}  # reason -> the jobs it stops, by what is their own
    for job in grid:
        try:
            loader.load_sweep_config(config, job)
        except (HydraException, OmegaConfBaseException) as error:
            advice = preset_advice(error, job, conf) if conf else ""
            reason = " ".join(filter(None, [one_paragraph(error), advice]))
            refused.setdefault(reason, []).append(" ".join(o for o in job if o not in shared))
    if refused:
        told = " ".join(
            f"{'Job' if len(jobs) == 1 else 'Jobs'} {'; '.join(jobs)}: {reason}"
            for reason, jobs in refused.items()
        )
        raise ConfigError(
            f"{sum(map(len, refused.values()))} of {len(grid)} jobs do not compose, so none "
            f"ran. {told}"
        )


def conf_dir(config: DictConfig) -> Path | None:
    """The folder of the primary config (`conf/`), where the presets are read from."""
    for source in config.hydra.runtime.config_sources:
        if source.provider == "main" and source.schema == "file":
            return Path(str(source.path))
    return None


def _repeated_keys(task: list[str]) -> list[str]:
    """A note per key the command line sets more than once: Hydra keeps its last override,
    so a sweep written before a fixed value of the same key runs only that value."""
    given: dict[str, list[str]] = {}
    for override in _parse(task):
        given.setdefault(plain_key(override), []).append(override.input_line)
    return [
        f"{key} is given {len(forms)} times ({', '.join(forms)}); Hydra keeps the last, "
        f"{forms[-1]}."
        for key, forms in given.items()
        if len(forms) > 1
    ]


def _refuse_drawn(grid: list[Override]) -> None:
    """Hydra's basic sweeper runs a grid: every sweep must list its values. Raises ConfigError
    naming a sweep that draws them (`interval()`, also inside `tag()`)."""
    drawn = [o.input_line for o in grid if o.is_sweep_override() and not o.is_discrete_sweep()]
    if drawn:
        raise ConfigError(
            f"{drawn[0]}: Hydra's basic sweeper runs every value of a grid, and interval() "
            "names a range to draw values from, which only a search does. List the values "
            "(seed=1,2,3, range(1,4), choice(a,b), glob(*)), or search with a sweeper that "
            "draws them (addexp -m hparams_search=seq2seq_optuna, or hydra/sweeper=optuna "
            "with your own search space)."
        )


def threads_per_job(launcher: DictConfig, jobs: int | None) -> int:
    """TensorFlow threads per job so that parallel jobs x threads fits the CPUs the launcher gives
    each job (joblib: cores / jobs at once; SLURM: cpus_per_task; Ray: remote.num_cpus); 0 for
    jobs run one after another in this process (TensorFlow's own choice)."""
    if launcher.get("n_jobs"):
        cores, n_jobs = os.cpu_count() or 1, int(launcher.n_jobs)
        at_once = cores if n_jobs < 0 else n_jobs
        return max(1, cores // min(at_once, jobs or at_once))
    if launcher.get("cpus_per_task"):
        return int(launcher.cpus_per_task)
    ray_cpus = launcher.get("ray", {}).get("remote", {}).get("num_cpus")
    return int(ray_cpus) if ray_cpus else 0
