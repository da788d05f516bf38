"""Launchers beyond the basic one, exercised for real (slow: run with `pytest -m slow`)."""

from __future__ import annotations

import pytest

from tests.conftest import TINY, addexp
from tests.tracking_helpers import parent_and_children


@pytest.mark.slow
def test_ray_launcher_on_a_local_ray_instance(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason='needs "addexp[ray]"')
    result = addexp(
        [
            "-m",
            "hydra/launcher=ray_local",
            "+hydra.launcher.ray.init.num_cpus=2",
            "hydra.job.chdir=true",
            "tracking.uri=sqlite:///rel.db",  # the launch folder's, wherever Ray runs a job
            "seed=1,2",
            *TINY,
            "tracking.log_model=false",
        ],
        tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p.name for p in tmp_path.rglob("*.db")] == ["rel.db"]
    parent, children = parent_and_children(f"sqlite:///{tmp_path / 'rel.db'}")
    assert parent["status"] == "FINISHED" and "RayLauncher" in parent["tags.sweep.launcher"]
    assert sorted(children["tags.mlflow.runName"]) == ["seed=1", "seed=2"]
    assert set(children["status"]) == {"FINISHED"}
    assert set(children["params.derived.threads"]) == {"1"}  # ray.remote.num_cpus
    assert len(list(tmp_path.glob("multirun/*/*/[01]/.hydra/config.yaml"))) == 2


def test_slurm_launcher_config_composes(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from tests.conftest import compose

    cfg = compose(["hydra/launcher=slurm"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.cpus_per_task == 2 and launcher.timeout_min == 60


@pytest.mark.slow
def test_eight_parallel_jobs_write_to_one_sqlite_store(tmp_path):
    result = addexp(
        [
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=8",
            "seed=range(1,9)",
            *TINY,
            "tracking.log_model=false",
        ],
        tmp_path,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parent, children = parent_and_children(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert parent["status"] == "FINISHED"
    assert (parent["tags.sweep.planned"], parent["tags.sweep.finished"]) == ("8", "8")
    assert sorted(children["params.seed"], key=int) == [str(s) for s in range(1, 9)]
    assert set(children["status"]) == {"FINISHED"}
    assert set(children["params.derived.threads"]) == {"1"}  # 8 jobs at once share the cores
