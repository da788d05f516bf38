"""A sweep records every job as a child of its parent, in the parent's store and experiment,
whatever a job's own view - its working folder, launcher, experiment, store, environment,
interpolations - or says loudly that it could not. Real `addexp` commands, real SQLite stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from addexp.sweeps.link import hydra_override
from tests.conftest import addexp
from tests.tracking_helpers import FAST, parent_and_children


@pytest.mark.parametrize(
    ("swept", "key"),
    [
        ("tracking.experiment=a,b", "tracking.experiment"),
        ("tracking.uri=sqlite:///a.db,sqlite:///b.db", "tracking.uri"),
    ],
)
def test_tracking_keys_cannot_be_swept(tmp_path, swept, key):
    result = addexp(["-m", swept, "train.batch_size=0"], tmp_path)
    assert result.returncode == 2
    assert f"{key} cannot be swept" in result.stderr
    assert "one experiment of one store" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("*.db"))  # refused before any store was touched


@pytest.mark.slow
def test_jobs_in_their_own_folders_stay_linked_and_relative_paths_mean_the_launch_folder(
    tmp_path,
):
    # Hydra moves each job into its own folder; the folder's name needs quoting in overrides
    launch = tmp_path / "it's a launch folder"
    launch.mkdir()
    args = ["-m", "hydra.job.chdir=true", "seed=1,2", "train.batch_size=0"]
    result = addexp(
        [*args, "tracking.uri=sqlite:///rel.db", "tracking.artifact_location=art"], launch
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("*.db")] == [
        launch.name / Path("rel.db")
    ]

    uri = f"sqlite:///{launch / 'rel.db'}"
    parent, children = parent_and_children(uri)
    assert parent["status"] == "FAILED" and parent["tags.error"] == "2 of 2 jobs failed"
    assert (parent["tags.sweep.planned"], parent["tags.sweep.jobs"]) == ("2", "2")
    assert parent["tags.sweep.failed"] == "2"
    assert sorted(children["tags.mlflow.runName"]) == ["seed=1", "seed=2"]  # the sweep went on
    assert set(children["status"]) == {"FAILED"}
    assert all("train.batch_size=0 is out of range" in e for e in children["tags.error"])
    experiment = MlflowClient(uri).get_experiment_by_name("addexp")
    assert experiment.artifact_location == (launch / "art").as_uri()
    # every job's Hydra folder under the launch folder's multirun/, one line per job on the console
    assert len(list(launch.glob("multirun/*/*/[01]/.hydra/config.yaml"))) == 2
    assert "sweep job 1 of 2: seed=1" in result.stdout
    assert "sweep job 2 of 2: seed=2" in result.stdout


@pytest.mark.slow
def test_a_broken_interpolation_is_a_config_error_and_in_a_sweep_a_failed_child(tmp_path):
    single = addexp(["train.examples=${train.exmples}"], tmp_path)
    assert single.returncode == 2
    message = "train.examples=${train.exmples} cannot be resolved"
    assert message in single.stderr and "Traceback" not in single.stderr
    assert not (tmp_path / "mlflow.db").exists()

    # `${hydra:job.num}` only resolves inside a job: the controller must leave it alone
    sweep = addexp(
        ["-m", "seed=${hydra:job.num}", "train.examples=${train.exmples},64", "train.batch_size=0"],
        tmp_path,
    )
    assert sweep.returncode == 1 and "Traceback" not in sweep.stderr
    parent, children = parent_and_children(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert parent["tags.sweep.failed"] == "2" and parent["status"] == "FAILED"
    by_name = children.set_index("tags.mlflow.runName")
    broken = by_name.loc["train.examples=${train.exmples}"]
    assert message in broken["tags.error"] and broken["params.seed"] == "0"
    assert broken["params.train.examples"] == "${train.exmples}"
    other = by_name.loc["train.examples=64"]
    assert "train.batch_size=0" in other["tags.error"] and other["params.seed"] == "1"


PRESETS = {
    # chooses another launcher and brings a sweep of its own
    "own_launcher": "defaults:\n  - override /hydra/launcher: joblib\n"
    "hydra:\n  sweeper:\n    params:\n      seed: 1,2\n",
    "other_experiment": "tracking:\n  experiment: elsewhere\n",
    "other_store": "tracking:\n  uri: sqlite:///other.db\n",
    # the store named by an environment variable, which differs in this job's environment
    "other_environment": "tracking:\n  uri: ${oc.env:STORE,sqlite:///mlflow.db}\n"
    "hydra:\n  job:\n    env_set:\n      STORE: sqlite:///env.db\n",
}


@pytest.mark.slow
def test_a_job_whose_own_config_tracks_elsewhere_fails_loudly_in_the_parents_store(tmp_path):
    conf = tmp_path / "conf" / "experiment"
    conf.mkdir(parents=True)
    for name, text in PRESETS.items():
        (conf / f"{name}.yaml").write_text(f"# @package _global_\n{text}")
    result = addexp(
        [
            "-m",
            f"experiment={','.join(PRESETS)}",
            f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
            *FAST,
        ],
        tmp_path,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "experiment=own_launcher brings its own sweep over seed" in result.stderr
    assert "one launcher serves the whole sweep: BasicLauncher" in result.stderr
    assert [p.name for p in tmp_path.glob("*.db")] == ["mlflow.db"]

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert MlflowClient(uri).get_experiment_by_name("elsewhere") is None
    parent, children = parent_and_children(uri)
    assert parent["tags.sweep.jobs"] == "4" and parent["tags.sweep.failed"] == "3"
    assert "brings its own sweep" in parent["tags.sweep.notes"]
    by_name = children.set_index("tags.mlflow.runName")
    # the basic launcher ran the job: TensorFlow's own thread choice, not joblib's share
    assert by_name.loc["experiment=own_launcher", "status"] == "FINISHED"
    assert by_name.loc["experiment=own_launcher", "params.derived.threads"] == "0"
    for name, key in [
        ("other_experiment", "tracking.experiment is elsewhere in this job but addexp"),
        ("other_store", f"tracking.uri is sqlite:///{tmp_path / 'other.db'} in this job"),
        ("other_environment", f"tracking.uri is sqlite:///{tmp_path / 'env.db'} in this job"),
    ]:
        assert by_name.loc[f"experiment={name}", "status"] == "FAILED"
        assert key in by_name.loc[f"experiment={name}", "tags.error"], name


@pytest.mark.parametrize(
    "value", ["/plain/path", "/with space/it's", "ends with \\", "back\\'slash", "a,b=c:d"]
)
def test_values_reach_jobs_unchanged_through_hydra_overrides(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    override = hydra_override("hydra.sweep.dir", value)
    assert OverridesParser.create().parse_override(override).value() == value


def test_a_value_hydra_would_interpolate_is_refused():
    with pytest.raises(ValueError, match="cannot hand"):
        hydra_override("hydra.sweep.dir", "/tmp/${x}")
