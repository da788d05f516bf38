"""What passes between a sweep's controller and its jobs: the link, carried in each job's own
Hydra config, and what a failed job returns.

Hydra composes every job's config afresh from the controller's `hydra.overrides.hydra` plus the
job's own overrides (`ConfigLoader.load_sweep_config`), whichever launcher runs it: in the same
process (basic), in worker processes (joblib), pickled to Ray workers or SLURM nodes (submitit).
So the controller appends two Hydra overrides there before the sweeper starts:

- `hydra.sweep.dir=<absolute path>`: job folders land under the launch folder, whatever folder a
  job's process runs in;
- `++hydra.job.env_set.ADDEXP_SWEEP=<json>`: the parent run, the store and experiment (resolved
  to absolute values once), the launch folder, the swept keys, the TensorFlow threads per job and
  the number of jobs planned, and the controller's values of the MLflow variables every job
  takes (`addexp.tracking.environment`). Hydra also exports it to the job's environment while
  it runs.

Nothing is looked up through the file system or the job's own view of the config.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, open_dict, read_write

from addexp.tracking.store import Store

LINK_VAR = "ADDEXP_SWEEP"


@dataclass(frozen=True)
class SweepLink:
    """The sweep as a job must see it."""

    parent_run_id: str
    store: Store
    launch_dir: str  # absolute; relative paths in a job's config resolve against it
    configured_artifact_location: str | None  # tracking.artifact_location, resolved
    keys: tuple[str, ...]  # swept keys, in sweep order (names the child runs)
    threads: int  # TensorFlow threads per job, for the launcher that runs the jobs; 0: no limit
    jobs: int | None  # jobs planned, when the sweeper says in advance
    # the controller's MLflow variables every job takes (`addexp.tracking.environment.CARRIED`)
    environment: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        # "$" escaped so that OmegaConf never reads "${" in a value as an interpolation
        return json.dumps(asdict(self)).replace("$", "\\u0024")

    @classmethod
    def from_json(cls, text: str) -> SweepLink:
        data = json.loads(text)
        return cls(
            **{
                **data,
                "store": Store(**data["store"]),
                "keys": tuple(data["keys"]),
            }
        )

    @classmethod
    def of_job(cls, hydra_cfg: DictConfig) -> SweepLink | None:
        """The link a job's Hydra config carries (None outside a tracked sweep)."""
        text = hydra_cfg.job.env_set.get(LINK_VAR)
        return cls.from_json(text) if text else None


def carry_to_jobs(config: DictConfig, link: SweepLink, sweep_dir: Path) -> None:
    """Append the link and the absolute sweep folder to the overrides every job is composed from
    (and set the folder in the controller's config, which the sweeper writes to)."""
    overrides = [
        hydra_override("hydra.sweep.dir", str(sweep_dir)),
        hydra_override(f"++hydra.job.env_set.{LINK_VAR}", link.to_json()),
    ]
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.overrides.hydra.extend(overrides)
        config.hydra.sweep.dir = str(sweep_dir)


def hydra_override(key: str, value: str) -> str:
    """`key='value'` in Hydra's override grammar, checked by parsing it back.

    Inside single quotes only a quote, and backslashes right before a quote or at the end, need a
    backslash. Raises ValueError for a value the grammar cannot carry unchanged.
    """
    escaped = re.sub(r"(\\*)('|$)", lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), value)
    override = f"{key}='{escaped}'"
    parsed = OverridesParser.create().parse_override(override)
    if parsed.value() != value or "${" in value:
        raise ValueError(f"cannot hand {value!r} to sweep jobs as {key}")
    return override


@dataclass(frozen=True)
class JobFailed:
    """What a failed sweep job returns to the sweeper instead of a number.

    Basic sweeps ignore it; the Optuna sweeper cannot turn it into a float, so it records the
    trial FAILED (NaN would make it abort the whole search) and goes on while
    `hydra.sweeper.max_failure_rate` allows.
    """

    reason: str

    def __str__(self) -> str:
        return f"a failed job ({self.reason})"
