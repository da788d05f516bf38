"""An unusable tracking store or artifact location is one line naming the setting, within
seconds and before anything is trained; an existing experiment's artifact location is said
plainly. Real `addexp` commands against a closed port, missing and read-only folders."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import TINY, addexp
from tests.tracking_helpers import FAST, free_port, parent_and_children, read_only


@pytest.fixture(scope="module")
def limit(tmp_path_factory) -> float:
    """Seconds a refusal may take: 15, or on a busy machine three times what `addexp --cfg job`
    (start-up and composition, nothing checked) takes right now. MLflow alone takes minutes."""
    start = time.monotonic()
    assert addexp(["--cfg", "job"], tmp_path_factory.mktemp("startup")).returncode == 0
    return max(15.0, 3 * (time.monotonic() - start))


def _refused(args: list[str], cwd: Path, setting: str, reason: str, limit: float) -> None:
    start = time.monotonic()
    result = addexp([*args, *TINY], cwd, timeout=300)
    seconds = time.monotonic() - start
    assert result.returncode == 2, result.stderr[-3000:]
    assert seconds < limit, (seconds, limit)
    lines = [line for line in result.stderr.splitlines() if line.startswith("addexp:")]
    assert len(lines) == 1 and f"{setting}" in lines[0] and reason in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert "MLflow run" not in result.stdout  # no run opened, nothing trained


def test_a_closed_port_is_reported_at_once(tmp_path, limit):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    setting = f"tracking.uri={url}"
    _refused([setting], tmp_path, setting, "no MLflow server answers", limit)


def test_an_sqlite_file_in_a_missing_folder_is_not_created(tmp_path, limit):
    uri = f"sqlite:///{tmp_path / 'nope' / 'mlflow.db'}"
    _refused([f"tracking.uri={uri}"], tmp_path, f"tracking.uri={uri}", "does not exist", limit)
    assert not (tmp_path / "nope").exists()


def test_an_sqlite_store_in_a_read_only_folder_is_reported(tmp_path, limit):
    folder = tmp_path / "shared"
    folder.mkdir()
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()  # a real store, created while the folder was writable
    setting = f"tracking.uri={uri}"
    with read_only(folder):
        _refused([setting], tmp_path, setting, "cannot create files", limit)


@pytest.mark.parametrize("where", ["read-only", "missing"])
def test_an_unusable_artifact_location_is_reported_before_anything_is_written(
    tmp_path, where, limit
):
    folder = tmp_path / "artifacts"
    if where == "read-only":
        folder.mkdir()
    location = folder / "runs"
    args = ["tracking.experiment=new", f"tracking.artifact_location={location}"]
    setting = f"tracking.artifact_location={location.as_uri()}"
    if where == "missing":
        _refused(args, tmp_path, setting, "nor the folder above it exists", limit)
    else:
        with read_only(folder):
            _refused(args, tmp_path, setting, "cannot create files", limit)
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_an_existing_experiments_artifact_location_is_kept_and_said(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = (tmp_path / "first").as_uri()
    MlflowClient(store).create_experiment("addexp", artifact_location=first)
    result = addexp(
        ["-m", "seed=1,2", "tracking.artifact_location=second", "train.batch_size=0", *FAST],
        tmp_path,
    )
    assert result.returncode == 1
    said = "tracking.artifact_location=second is not used: experiment 'addexp' already keeps"
    assert said in result.stderr and f"at {first}" in result.stderr
    _, children = parent_and_children(store)
    assert len(children) == 2
    assert all(uri.startswith(first) for uri in children["artifact_uri"])
    assert not (tmp_path / "second").exists()


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (None, "sqlite:////launch/mlflow.db"),
        ("sqlite:///rel.db", "sqlite:////launch/rel.db"),
        ("sqlite:///sub/rel.db?timeout=20", "sqlite:////launch/sub/rel.db?timeout=20"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("file:runs", "file:///launch/runs"),
        ("runs", "/launch/runs"),
        ("/abs/runs", "/abs/runs"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_relative_tracking_uris_mean_the_launch_folder(uri, expected):
    from addexp.tracking.store import resolve_uri

    assert resolve_uri(uri, Path("/launch")) == expected


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (None, None),
        ("art", "file:///launch/art"),
        ("/abs/art", "file:///abs/art"),
        ("file:///abs/art", "file:///abs/art"),
        ("s3://bucket/art", "s3://bucket/art"),
    ],
)
def test_relative_artifact_locations_mean_the_launch_folder(location, expected):
    from addexp.tracking.store import resolve_artifact_location

    assert resolve_artifact_location(location, Path("/launch")) == expected


@pytest.mark.parametrize(
    "command",
    [
        ["addexp", *TINY, "tracking.uri=foo://bar"],
        ["addexp-predict", "--uri", "foo://bar", "--run", "last", "7+10"],
        ["addexp-eval", "--uri", "foo://bar", "--run", "last", "eval=length"],
        ["addexp-runs", "--uri", "foo://bar"],
        ["addexp-compare", "--uri", "foo://bar"],
    ],
    ids=lambda c: c[0],
)
def test_a_store_of_a_kind_mlflow_has_not_is_one_line_from_every_command(tmp_path, command):
    """A URI scheme that no installed tracking store takes is named, with the kinds there are,
    before anything is opened: one line, exit 2, no traceback, no store written (Hydra's job
    folder keeps the job's log)."""
    from tests.conftest import addexp_predict

    if command[0] == "addexp":
        done = addexp(command[1:], tmp_path)
    else:
        done = addexp_predict(command[1:], tmp_path, program=command[0])
    assert done.returncode == 2, done.stderr
    assert "MLflow has no tracking store for the scheme 'foo'" in done.stderr
    assert "sqlite://" in done.stderr and "postgresql://" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not {"mlflow.db", "mlruns"} & {p.name for p in tmp_path.iterdir()}
