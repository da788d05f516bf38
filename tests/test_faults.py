"""Faults a long run survives, each through the real `addexp` command and a real MLflow store:
a loss that diverges, SIGINT and SIGTERM sent to real processes, and resuming from a checkpoint."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
from pathlib import Path

import h5py
import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from addexp.cli.compare import main as compare
from addexp.training import faults
from tests.conftest import addexp, start_addexp

# Small enough for a fraction of a second per epoch; epochs many enough that a run is still
# training when the test has seen two epochs and sends its signal.
SMALL = [
    "model.encoder_units=[16]",
    "model.decoder_units=[16]",
    "train.examples=32",
    "train.batch_size=16",
    "eval.examples=30",
    "eval.show=0",
    "tracking.log_model=false",
]
LONG = "train.epochs=500"
RESUMED_TO = 10  # epochs of the resumed and the uninterrupted run
WHOLE = ["tracking.experiment=whole", "hydra.run.dir=whole"]  # the uninterrupted run, apart
DIVERGING = ["model=mlp", "train.optimizer=sgd", "train.learning_rate=1e6"]
KILLED_WITHIN, EXIT_WITHIN = 10.0, 60.0  # seconds after the signal


class Watched:
    """A started `addexp` process whose output lines are collected as they come."""

    def __init__(self, args: list[str], cwd: Path):
        self.process = start_addexp(args, cwd)
        self.cwd = cwd
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=lambda s=stream, x=lines: x.extend(s), daemon=True).start()

    def run_id(self, name: str, timeout: float = 180) -> str:
        """The id of the MLflow run named `name`, once it is in the store (a sweep's console
        names a job only as it ends)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.cwd / "mlflow.db").exists():
                client = MlflowClient(_store(self.cwd))
                try:
                    addexp_runs = client.get_experiment_by_name("addexp")  # not `whole`'s
                    runs = client.search_runs(
                        [addexp_runs.experiment_id], f"attributes.run_name = '{name}'"
                    ) if addexp_runs else []  # fmt: skip
                except MlflowException:  # the store is still being created
                    runs = []
                if runs:
                    return runs[0].info.run_id
            assert self.process.poll() is None, "".join(self.err)[-3000:]
            time.sleep(0.2)
        raise AssertionError(f"no run {name!r} started: {''.join(self.out)[-2000:]}")

    def wait_for_epochs(self, client: MlflowClient, run_id: str, epochs: int) -> None:
        """Until run `run_id` has logged `train/loss` for `epochs` epochs."""
        deadline = time.monotonic() + 180
        while len(client.get_metric_history(run_id, "train/loss")) < epochs:
            assert self.process.poll() is None, "".join(self.err)[-3000:]
            assert time.monotonic() < deadline, "training did not get going"
            time.sleep(0.1)

    def interrupt(self, signum: int, client: MlflowClient, run_id: str) -> tuple[float, float]:
        """Send `signum`; return the seconds until the run was KILLED and until the process
        ended."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        killed = None
        while self.process.poll() is None or killed is None:
            if killed is None and client.get_run(run_id).info.status != "RUNNING":
                killed = time.monotonic() - sent
            if time.monotonic() - sent > EXIT_WITHIN:
                self._fail(f"run {client.get_run(run_id).info.status} {EXIT_WITHIN} s after")
            time.sleep(0.05)
        exited = time.monotonic() - sent
        self.process.wait()
        time.sleep(0.2)  # let the readers drain the pipes
        return killed, exited

    def _fail(self, what: str) -> None:
        """Fail the test saying how the process stands; a process still alive is aborted
        first, so that its every thread's stack is on stderr (faulthandler)."""
        alive = self.process.poll() is None
        if alive:
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=60)
            time.sleep(0.5)
        state = "was still running" if alive else f"exited {self.process.returncode}"
        raise AssertionError(f"{what}, the process {state}:\n{''.join(self.err)[-12000:]}")

    def messages(self) -> list[str]:
        """addexp's own lines on stderr."""
        return [line.strip() for line in self.err if line.startswith("addexp:")]


def _store(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    """An MLflow SQLite store with its tables created (which takes seconds), to copy."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def folder(tmp_path, empty_store) -> Path:
    """A launch folder holding an empty store, as `addexp` would create it."""
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    return tmp_path


def _runs(uri: str):
    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=["addexp"])


def _checkpoint(client: MlflowClient, run_id: str, folder: Path) -> tuple[dict, dict]:
    """A run's logged checkpoint: its state and every array of its weights file (model and
    optimizer), by path inside the file."""
    local = Path(client.download_artifacts(run_id, "checkpoints", str(folder)))
    arrays = {}
    with h5py.File(local / "last.weights.h5") as weights:
        weights.visititems(
            lambda name, item: (
                arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
            )
        )
    return json.loads((local / "state.json").read_text()), arrays


@pytest.mark.slow
def test_a_diverging_loss_stops_training_at_once_and_fails_the_run(folder):
    result = addexp([*DIVERGING, "train.epochs=50", "train.examples=64", "eval.show=0"], folder)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("addexp:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert re.search(r"the loss became (nan|-?inf) in epoch 1 of 50;", lines[0])
    run = _runs(_store(folder)).iloc[0]
    assert run["status"] == "FAILED"
    assert run["tags.error"] == f"Diverged: {lines[0].removeprefix('addexp: ')}"
    client = MlflowClient(_store(folder))
    assert client.get_metric_history(run["run_id"], "train/loss") == []  # no epoch completed
    assert "metrics.test/exact_match" not in run.index  # nothing scored as if it were a result


@pytest.mark.slow
def test_a_diverging_job_fails_alone_and_stays_out_of_the_comparison(folder, capsys):
    rates = [*DIVERGING[:-1], "train.learning_rate=1e6,0.01"]
    result = addexp(["-m", *rates, "train.epochs=2", "eval.show=0"], folder)
    assert result.returncode == 1
    assert "1 of 2 sweep jobs failed" in result.stderr
    runs = _runs(_store(folder))
    parent = runs[runs["tags.mlflow.parentRunId"].isna()].iloc[0]
    assert parent["status"] == "FAILED" and parent["tags.sweep.failed"] == "1"
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    by_rate = children.set_index("params.train.learning_rate")
    assert by_rate.loc["1000000.0", "status"] == "FAILED"
    assert "training diverged" in by_rate.loc["1000000.0", "tags.error"]
    assert by_rate.loc["0.01", "status"] == "FINISHED"

    plot = str(folder / "comparison.png")
    assert compare(["--uri", _store(folder), "--parent", parent["run_id"], "--plot", plot]) == 0
    table = capsys.readouterr().out
    assert "| 0.01 | 1 |" in table and "1000000.0" not in table


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, empty_store):
    """A run of RESUMED_TO epochs trained without a break (in experiment `whole`) and, at the
    same time, one of 500 epochs interrupted with SIGINT once it logged two: their folder, the
    interrupted run's id, its process's messages and timings."""
    folder = tmp_path_factory.mktemp("interrupted")
    shutil.copy(empty_store, folder / "mlflow.db")
    whole = start_addexp([f"train.epochs={RESUMED_TO}", *SMALL, *WHOLE], folder)
    watched = Watched([LONG, *SMALL], folder)
    client = MlflowClient(_store(folder))
    run_id = watched.run_id("tutorial_seq2seq-seed1")  # the default preset, keys set on top
    watched.wait_for_epochs(client, run_id, 2)
    killed, exited = watched.interrupt(signal.SIGINT, client, run_id)
    _, errors = whole.communicate(timeout=600)
    assert whole.returncode == 0, errors[-3000:]
    return folder, run_id, watched, killed, exited


def test_sigint_ends_the_run_killed_with_its_metrics_and_checkpoint(interrupted):
    folder, run_id, watched, killed, exited = interrupted
    assert watched.process.returncode == 128 + signal.SIGINT
    assert killed < KILLED_WITHIN and exited < EXIT_WITHIN
    assert "Traceback" not in "".join(watched.err)
    [message] = watched.messages()
    client = MlflowClient(_store(folder))
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags["error"] == message.removeprefix("addexp: ")
    epochs = len(client.get_metric_history(run_id, "train/loss"))
    assert epochs >= 2
    assert message.startswith(f"addexp: interrupted by SIGINT after {epochs} of 500 epochs")
    assert message.endswith(f"train.resume={run_id}")
    state, arrays = _checkpoint(client, run_id, folder / "download")
    assert state["epochs_done"] == epochs and len(state["history"]) == epochs
    assert any(name.startswith("optimizer/") for name in arrays)


def _resume_and_compare(folder: Path, source: str, config: list[str], scratch: Path) -> None:
    """Resume run `source` to RESUMED_TO epochs with `config`; assert the resumed run ends
    exactly as the uninterrupted run of experiment `whole` did: every weight and optimizer
    variable, every epoch's metrics, every test metric."""
    client = MlflowClient(_store(folder))
    done = len(client.get_metric_history(source, "train/loss"))
    assert done < RESUMED_TO, "the run trained too far before the signal reached it"
    resumed = addexp([f"train.epochs={RESUMED_TO}", *config, f"train.resume={source}"], folder)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    runs = _runs(_store(folder))
    run = runs[runs["tags.resumed_from"] == source].iloc[0]
    assert run["status"] == "FINISHED" and run["tags.resumed_epochs"] == str(done)
    whole = mlflow.search_runs(experiment_names=["whole"]).iloc[0]
    metrics = [c for c in runs.columns if c.startswith("metrics.test/") and "seconds" not in c]
    assert run[metrics].tolist() == whole[metrics].tolist()

    state, weights = _checkpoint(client, run["run_id"], scratch / "resumed")
    whole_state, whole_weights = _checkpoint(client, whole["run_id"], scratch / "whole")
    assert weights.keys() == whole_weights.keys()
    assert all(np.array_equal(weights[k], whole_weights[k]) for k in weights)  # optimizer too
    assert state["history"] == whole_state["history"]
    history = client.get_metric_history(run["run_id"], "train/loss")  # earlier epochs copied
    assert [m.step for m in history] == list(range(RESUMED_TO))
    assert [m.value for m in history] == [e["train/loss"] for e in whole_state["history"]]


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(interrupted, tmp_path):
    folder, source, *_ = interrupted
    _resume_and_compare(folder, source, SMALL, tmp_path)


@pytest.mark.slow
def test_a_resumed_fixed_regime_run_with_validation_ends_as_an_uninterrupted_one(folder):
    """The fixed regime redraws its split on resuming; validation metrics continue."""
    fixed = [*SMALL, "train=fixed", "train.examples=80", "train.distinct=ordered"]
    whole = start_addexp([f"train.epochs={RESUMED_TO}", *fixed, *WHOLE], folder)
    watched = Watched([LONG, *fixed], folder)
    client = MlflowClient(_store(folder))
    run_id = watched.run_id("seq2seq-seed1")
    watched.wait_for_epochs(client, run_id, 2)
    watched.interrupt(signal.SIGTERM, client, run_id)
    _, errors = whole.communicate(timeout=600)
    assert whole.returncode == 0, errors[-3000:]
    _resume_and_compare(folder, run_id, fixed, folder / "scratch")
    resumed = _runs(_store(folder)).query("`tags.resumed_from` == @run_id").iloc[0]
    assert len(client.get_metric_history(resumed["run_id"], "val/exact_match")) == RESUMED_TO


def test_resuming_with_another_config_is_refused_before_a_run_opens(interrupted):
    folder, source, *_ = interrupted
    before = len(_runs(_store(folder)))
    other = addexp([LONG, *SMALL, "seed=2", "train.batch_size=8", f"train.resume={source}"], folder)
    assert other.returncode == 2 and "Traceback" not in other.stderr
    assert "seed: 1 there, 2 here; train.batch_size: 16 there, 8 here" in other.stderr
    fewer = addexp(["train.epochs=1", *SMALL, f"train.resume={source}"], folder)
    assert fewer.returncode == 2 and "train.epochs=1 is fewer than the" in fewer.stderr
    assert len(_runs(_store(folder))) == before


@pytest.mark.slow
def test_sigterm_ends_a_sweep_its_current_job_killed_and_its_parent_failed(folder):
    # checkpoint_every=0: the checkpoint is logged only when the run ends, here by the signal
    watched = Watched(["-m", "seed=1,2", LONG, *SMALL, "train.checkpoint_every=0"], folder)
    client = MlflowClient(_store(folder))
    run_id = watched.run_id("seed=1")
    watched.wait_for_epochs(client, run_id, 2)
    killed, exited = watched.interrupt(signal.SIGTERM, client, run_id)
    assert watched.process.returncode == 128 + signal.SIGTERM
    assert killed < KILLED_WITHIN and exited < EXIT_WITHIN
    assert "Traceback" not in "".join(watched.err)
    message, *sweep_end = watched.messages()  # then the sweep's own account of its jobs
    assert len(sweep_end) <= 1 and all("sweep" in line for line in sweep_end), sweep_end
    assert message.startswith("addexp: interrupted by SIGTERM after")
    assert "addexp seed=1 train.epochs=500" in message  # the job's own overrides

    runs = _runs(_store(folder))
    parent = runs[runs["tags.mlflow.parentRunId"].isna()].iloc[0]
    assert parent["status"] == "FAILED"
    children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
    assert children["tags.mlflow.runName"].tolist() == ["seed=1"]  # seed=2 never started
    assert children.iloc[0]["status"] == "KILLED"
    epochs = len(client.get_metric_history(run_id, "train/loss"))
    state, _ = _checkpoint(client, run_id, folder / "download")
    assert state["epochs_done"] == epochs >= 2


def _signalled(block) -> list[str]:
    """Run `block` (a callable taking a `mark` callable) with fresh handlers, a real SIGTERM sent
    to this process inside it; return the marks made and, last, how it ended."""
    saved = {signum: signal.getsignal(signum) for signum in faults.SIGNALS}
    marks: list[str] = []
    try:
        for signum in faults.SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        faults.install()
        block(marks.append)
        marks.append("no interrupt")
    except faults.Interrupted as stop:
        assert stop.signum == signal.SIGTERM and stop.exit_status == 143
        marks.append(str(stop))
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    return marks


def _sigterm_to_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.2)  # the handler has run by now


def test_a_signal_waits_through_a_deferred_block_until_a_check_or_its_end():
    def deferred_then_checked(mark):
        with faults.deferred():
            _sigterm_to_self()
            mark(f"deferred block went on, pending: {faults.pending()}")
            faults.check()
            mark("never: the check raises")

    def only_deferred(mark):
        with faults.deferred():
            with faults.deferred():
                _sigterm_to_self()
            mark("the inner block ended, the outer went on")

    def not_deferred(mark):
        _sigterm_to_self()
        mark("never: raised at once")

    assert _signalled(deferred_then_checked) == [
        "deferred block went on, pending: True",
        "interrupted by SIGTERM",
    ]
    assert _signalled(only_deferred) == [
        "the inner block ended, the outer went on",
        "interrupted by SIGTERM",
    ]
    assert _signalled(not_deferred) == ["interrupted by SIGTERM"]
    assert not faults.pending()


def test_a_run_logged_before_a_key_existed_resumes_as_its_default():
    """A key that a run's logged config predates reads as its schema default (a key is added
    with the default that keeps what was done): such a run resumes with today's config, and
    only a value other than that default differs."""
    from omegaconf import OmegaConf

    from addexp.tracking.resume import differing_keys
    from tests.conftest import compose

    for overrides in ([], ["model=transformer"]):
        new = compose(overrides)
        old = OmegaConf.to_container(new, resolve=True)
        del old["train"]["curriculum"], old["model"]["beam_width" if overrides else "embedding_dim"]
        assert differing_keys(OmegaConf.create(old), new) == {}
        naive = compose([*overrides, "train.curriculum.name=naive"])
        assert differing_keys(OmegaConf.create(old), naive) == {
            "train.curriculum.name": ("none", "naive")
        }
