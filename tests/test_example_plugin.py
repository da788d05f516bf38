"""The example package of docs/extending.md (examples/plugin), installed as a user would install
it beside addexp (here into a folder only these tests' processes see): its family and its metric
work through the real `addexp` and `addexp-predict`, into a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY
from tests.test_plugins import command, install, runs

EXAMPLE = Path(__file__).parents[1] / "examples" / "plugin"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example, installed into a folder of its own."""
    return install(EXAMPLE, tmp_path_factory.mktemp("example"))


@pytest.mark.slow  # tests/test_plugins.py walks the same entry points by default
def test_the_example_family_trains_on_its_metric_and_answers(site, tmp_path):
    args = [*TINY, "train.examples=200", "model=gru_seq2seq", "model.encoder_units=16",
            "eval.objective=test/within_one"]  # fmt: skip
    trained = command("addexp", args, tmp_path, site)
    assert trained.returncode == 0, trained.stderr[-2000:]
    run = runs(tmp_path).iloc[-1]
    assert run["status"] == "FINISHED" and run["tags.model"] == "gru_seq2seq"
    assert run["params.model.encoder_units"] == "16"
    assert run["metrics.test/within_one"] >= run["metrics.test/exact_match"]  # right is near
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    answered = command(
        "addexp-predict", ["--run", run["run_id"], "--uri", uri, "7+3"], tmp_path, site
    )
    assert answered.returncode == 0 and answered.stdout.startswith("7+3 "), answered.stderr


def test_the_example_family_checks_its_own_keys(site, tmp_path):
    refused = command(
        "addexp", [*TINY, "model=gru_seq2seq", "model.decoder_units=0"], tmp_path, site
    )
    assert refused.returncode == 2
    assert "model.decoder_units" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "mlflow.db").exists() or runs(tmp_path).empty
