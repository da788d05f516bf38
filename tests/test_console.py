"""What a person sees on the console: progress over epochs, and no TensorFlow CUDA probing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from addexp.training.progress import resolve_mode
from tests.conftest import TINY, addexp

CUDA = re.compile(r"cuda|cuInit|cudart|GPU will not be used", re.IGNORECASE)


@pytest.mark.slow
def test_a_default_run_prints_no_cuda_lines_and_one_line_per_epoch(tmp_path):
    # the environment a user has: no TensorFlow log level set (tests elsewhere quieten it)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.pop("MLFLOW_TRACKING_URI", None)
    exe = os.path.join(os.path.dirname(sys.executable), "addexp")
    result = subprocess.run(
        [exe, *TINY, "train.epochs=3", "tracking.log_model=false"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert not CUDA.findall(console), [line for line in console.splitlines() if CUDA.search(line)]
    # output is not a terminal here: one line per epoch, no bar
    epochs = re.findall(r"epoch (\d+)/3  train/accuracy [\d.]+  train/loss [\d.]+", console)
    assert epochs == ["1", "2", "3"]
    assert "epoch/s" not in console and "\r" not in console
    assert "test: exact_match" in console
    address = re.search(r"MLflow UI: addexp-ui --uri (\S+) --run (\w{32})$", console, re.M)
    assert address and address[1] == f"sqlite:///{tmp_path / 'mlflow.db'}", console[-1000:]


@pytest.mark.slow
def test_progress_off_prints_no_epoch_lines_and_bad_values_are_named(tmp_path):
    quiet = addexp([*TINY, "train.progress=off", "tracking.log_model=false"], tmp_path)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert "epoch 1/" not in quiet.stdout + quiet.stderr

    bad = addexp(["train.progress=sometimes"], tmp_path)
    assert bad.returncode == 2
    assert "train.progress='sometimes' is not allowed; choose one of: auto, bar, lines, off" in (
        bad.stderr
    )
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("mode", "interactive", "in_sweep", "shown"),
    [
        ("auto", True, False, "bar"),
        ("auto", False, False, "lines"),
        ("auto", True, True, "lines"),
        ("bar", False, True, "bar"),
        ("off", True, False, "off"),
    ],
)
def test_progress_mode_follows_the_terminal_unless_set(mode, interactive, in_sweep, shown):
    assert resolve_mode(mode, interactive, in_sweep) == shown


def test_progress_mode_rejects_unknown_values():
    with pytest.raises(ValueError, match="auto, bar, lines, off"):
        resolve_mode("sometimes", True, False)
