"""A run that raises after it started is left FAILED with the error, never FINISHED."""

from __future__ import annotations

import mlflow
import pytest

from addexp.tracking.context import RunContext
from addexp.tracking.runner import run
from tests.conftest import TINY, compose


def test_error_during_training_marks_the_run_failed_with_the_message(tmp_path, store):
    # The optimiser key passes the schema (a string) but was never validated: the model compile
    # step raises inside the run, as any unexpected error would.
    cfg = compose([*TINY, f"tracking.uri={store}", "train.optimizer=nope"])
    ctx = RunContext(launch_dir=tmp_path, output_dir=tmp_path / "out")
    with pytest.raises(KeyError):
        run(cfg, ctx)
    mlflow.set_tracking_uri(store)
    runs = mlflow.search_runs(experiment_names=["addexp"])
    assert runs["status"].tolist() == ["FAILED"]
    assert "KeyError" in runs.loc[0, "tags.error"] and "nope" in runs.loc[0, "tags.error"]
    assert "metrics.test/exact_match" not in runs.columns
