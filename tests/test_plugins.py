"""Parts from another installed package: the test plugin (tests/plugin) adds a model family, the
`%` operation, a text format and a lower-is-better metric through entry points, with no change
to addexp. It is installed into a temporary folder that only these tests' processes see, and
used through the real commands into real SQLite stores."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from tests.conftest import TINY

PLUGIN = Path(__file__).parent / "plugin"
SMALL = [*TINY, "train.examples=200", "tracking.log_model=true"]


def install(source: Path, root: Path) -> Path:
    """A folder under `root` that the package at `source` is installed into (from a copy: the
    build writes beside it), for PYTHONPATH."""
    shutil.copytree(source, root / "source")
    target = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(root / "source")],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The test plugin, installed into a folder of its own."""
    return install(PLUGIN, tmp_path_factory.mktemp("plugin"))


def command(name: str, args: list[str], cwd: Path, site: Path) -> subprocess.CompletedProcess:
    """The installed console script `name` with the plugin's folder on its path."""
    env = {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("MLFLOW_TRACKING_URI", None)
    exe = str(Path(sys.executable).with_name(name))
    return subprocess.run(
        [exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def runs(folder: Path):
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    return mlflow.search_runs(experiment_names=["addexp"], order_by=["start_time ASC"])


def test_each_part_names_the_package_it_came_from(site, tmp_path):
    script = (
        "from addexp.evaluation.metrics import METRICS\n"
        "from addexp.models import FAMILIES\n"
        "from addexp.problems.operations import OPERATIONS\n"
        "from addexp.text.formats import FORMATS\n"
        "for registry, name in [(FAMILIES, 'conv_tagger'), (OPERATIONS, '%'),"
        " (FORMATS, 'separated'), (METRICS, 'digit_edit_distance'), (FAMILIES, 'seq2seq')]:\n"
        "    print(registry.origin(name).package)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.stdout.split() == ["addexp-test-plugin"] * 4 + ["addexp"], done.stderr


@pytest.mark.slow
def test_a_family_from_another_package_trains_predicts_evaluates_and_compares(site, tmp_path):
    trained = command(
        "addexp", [*SMALL, "model=conv_tagger", "format=aligned", "data=digits"], tmp_path, site
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    run = runs(tmp_path).iloc[-1]
    assert run["tags.model"] == "conv_tagger" and run["params.model.filters"] == "[32, 32]"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    answered = command(
        "addexp-predict", ["--run", run["run_id"], "--uri", uri, "123+45"], tmp_path, site
    )
    assert answered.returncode == 0 and answered.stdout.startswith("123+45 "), answered.stderr
    evaluated = command(
        "addexp-eval", ["--run", run["run_id"], "--uri", uri, "eval=length"], tmp_path, site
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "metrics.length_x10/digit_edit_distance" in runs(tmp_path).iloc[-1].index
    compared = command("addexp-compare", ["--uri", uri, "--group-by", "model.name"], tmp_path, site)
    assert compared.returncode == 0 and "conv_tagger" in compared.stdout, compared.stderr


@pytest.mark.slow
def test_an_operation_and_a_format_from_another_package(site, tmp_path):
    trained = command(
        "addexp",
        [*SMALL, "data.operations=[+,%]", "format=separated", "+eval.sets.mod={operations: [%]}"],
        tmp_path,
        site,
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    run = runs(tmp_path).iloc[-1]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    rows = mlflow.MlflowClient(uri).download_artifacts(
        run["run_id"], "predictions/mod.csv", str(tmp_path)
    )
    text = Path(rows).read_text().splitlines()
    assert text[0].startswith("input,expected") and "%" in text[1]
    expected = text[1].split(",")[1]
    assert all(c.isdigit() for c in expected.split("_")), expected  # "1_2": digits, separated
    answered = command(
        "addexp-predict", ["--run", run["run_id"], "--uri", uri, "7%4", "12+9"], tmp_path, site
    )
    assert answered.returncode == 0, answered.stderr
    refused = command("addexp", [*SMALL, "data.operations=[+,mod]"], tmp_path, site)
    assert refused.returncode == 2 and "+, -, *, //, %" in refused.stderr


@pytest.mark.slow
def test_a_lower_is_better_metric_is_minimised_and_ranks_the_sweep(site, tmp_path):
    objective = "eval.objective=test/digit_edit_distance"
    swept = command(
        "addexp",
        ["-m", "hparams_search=seq2seq_optuna", "hydra.sweeper.n_trials=3", *TINY,
         "train.examples=100", objective, "tracking.log_model=false"],
        tmp_path,
        site,
    )  # fmt: skip
    assert swept.returncode == 0, swept.stderr[-2000:]
    found = runs(tmp_path)
    children = found[found["tags.mlflow.parentRunId"].notna()]
    values = children["metrics.test/digit_edit_distance"]
    best = children[children["tags.sweep.best"] == "true"]
    assert len(children) == 3 and len(best) == 1
    assert best["metrics.test/digit_edit_distance"].iloc[0] == values.min()
    assert "Best value: " + str(values.min()) in swept.stdout + swept.stderr  # Optuna minimised


def test_a_name_given_twice_is_refused_naming_both_packages(site, tmp_path):
    clash = tmp_path / "clash"
    (clash / "clash_family").mkdir(parents=True)
    (clash / "clash_family" / "__init__.py").write_text("")
    (clash / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "clash-family"\nversion = "0.1"\n'
        '[project.entry-points."addexp.families"]\n'
        'conv_tagger = "addexp_test_plugin.conv_tagger:FAMILY"\n'
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site.parent / "clash_site"), str(clash)],
        check=True, capture_output=True,
    )  # fmt: skip
    both = f"{site}{os.pathsep}{site.parent / 'clash_site'}"
    refused = command("addexp", ["model=conv_tagger"], tmp_path, Path(both))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "defined twice" in refused.stderr and "clash-family" in refused.stderr
    assert "addexp-test-plugin" in refused.stderr
