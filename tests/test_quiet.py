"""Quiet by default: what a newcomer sees, with none of the libraries' variables set, is
addexp's own lines, not TensorFlow's, absl's, oneDNN's, MLflow's, alembic's or Hydra's launcher
chatter; asking for verbosity brings the libraries' lines back. A sweep's console is a line per
job, as it ends. Real commands as subprocesses, a store created by the first run."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from addexp.cli import hydra_verbose
from tests.conftest import _command

# Start-up and warning lines of the libraries addexp runs on, as they print them.
LIBRARY_LINES = [
    r"^[IWEF]\d{4} ",  # absl's C++ log: I0000 00:00:... cpu_feature_guard.cc ...
    r"absl",  # WARNING: All log messages before absl::InitializeLog() ...
    r"oneDNN",
    r"tensorflow/",
    r"cpu_feature_guard",
    r"[Cc][Uu][Dd][Aa]|cuInit",
    r"INFO mlflow",
    r"WARNING mlflow",
    r"alembic",
    r"Warning:",  # UserWarning:, DeprecationWarning:, FutureWarning:, SADeprecationWarning:
    r"View run |View experiment at",  # MLflow's own URL lines
    r"Launching \d+ jobs",  # Hydra's launcher
    r"#\d+ : ",
    r"A new study created",  # Optuna's own handler
    r"\]\[(?!addexp\b|hydra)[\w.]+\]\[INFO\]",  # a library's logger through Hydra's format
]
NEWCOMER_UNSET = (
    "TF_CPP_MIN_LOG_LEVEL",
    "MLFLOW_LOGGING_LEVEL",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT",
    "PYTHONWARNINGS",
    "TF_ENABLE_ONEDNN_OPTS",
)
SAMPLE = re.compile(r"^ +\S+ = \S+ +predicted '", re.M)


def library_lines(console: str) -> list[str]:
    """The lines of `console` that a library printed (LIBRARY_LINES)."""
    pattern = re.compile("|".join(f"(?:{p})" for p in LIBRARY_LINES), re.M)
    return [line for line in console.splitlines() if pattern.search(line)]


def run(
    program: str, args: list[str], cwd: Path, own: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`program` (an installed console script) as a newcomer runs it: none of the variables
    that set the libraries' log levels (the tests' own quieting included) in its environment,
    but the user's `own`."""
    command, env = _command(args)
    command[0] = str(Path(sys.executable).with_name(program))
    for name in NEWCOMER_UNSET:
        env.pop(name, None)
    env.update(own or {})
    cwd.mkdir(exist_ok=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def quiet(result: subprocess.CompletedProcess) -> str:
    """The combined console of a command that succeeded and printed no library line."""
    console = result.stdout + result.stderr
    assert result.returncode == 0, console[-3000:]
    assert library_lines(console) == [], console[-3000:]
    return console


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str, str]:
    """A launch folder whose store the run created, the run's id and its console: a first run
    on a new machine (matplotlib builds its font cache then, and logs that it did)."""
    folder = tmp_path_factory.mktemp("quiet")
    fonts = {"MPLCONFIGDIR": str(folder / "matplotlib")}
    console = quiet(run("addexp", ["experiment=fast_tutorial"], folder, own=fonts))
    run_id = re.search(r"MLflow run (\w{32}) \(fast_tutorial-seed1\)", console)
    assert run_id, console[-3000:]
    return folder, run_id[1], console


@pytest.mark.slow
def test_a_first_run_on_a_new_store_shows_addexp_only(trained):
    folder, _, console = trained
    assert (folder / "mlflow.db").exists()
    assert "test: exact_match" in console and "MLflow UI: " in console
    assert len(SAMPLE.findall(console)) == 20  # a single run shows its sample answers


@pytest.mark.slow
def test_reading_commands_are_quiet(trained):
    folder, run_id, _ = trained
    answered = quiet(run("addexp-predict", ["--run", run_id, "5+3"], folder))
    assert answered.startswith("5+3 8")
    args = ["--run", run_id, "eval=length", "eval.examples=50"]
    evaluated = quiet(run("addexp-eval", args, folder))
    assert "length_x2: exact_match" in evaluated
    assert "test/exact_match over" in quiet(run("addexp-compare", [], folder))
    assert "show RUNNING" in quiet(run("addexp-runs", [], folder))


@pytest.mark.slow
def test_a_sweep_shows_each_job_once_and_no_samples(trained):
    folder, _, _ = trained
    args = ["-m", "experiment=fast_tutorial", "seed=1,2", "tracking.log_model=false"]
    console = quiet(run("addexp", [*args, "eval.examples=200"], folder))
    ended = re.findall(
        r"sweep job (\d) of 2: seed=(\d)  test/exact_match [\d.]+  run (\w{32})", console
    )
    assert [(number, seed) for number, seed, _ in ended] == [("1", "1"), ("2", "2")], console
    assert console.count("seed=1") == 1 and console.count("seed=2") == 1  # once, as it ended
    assert not re.search(r"MLflow run \w{32} \(seed=", console)  # not again as it starts
    assert not SAMPLE.search(console) and "epoch 1/" not in console
    assert "sweep: 2 jobs, 2 finished, 0 failed" in console
    job_log = (folder / "multirun").glob("*/*/0/addexp.log")
    assert "epoch 3/3" in next(job_log).read_text()  # a job's details stay in its log file


@pytest.mark.slow
def test_verbose_brings_the_libraries_lines_back_and_a_users_level_is_kept(tmp_path):
    # `addexp-compare` on an empty SQLite file: MLflow creates its tables, then addexp says the
    # experiment is missing
    new_store = re.compile(r"INFO mlflow\.store\.db\.utils: Creating initial MLflow database")
    for name in ("plain", "loud", "own"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mlflow.db").touch()
    plain = run("addexp-compare", [], tmp_path / "plain")
    assert plain.returncode == 1 and library_lines(plain.stdout + plain.stderr) == []
    loud = run("addexp-compare", ["--verbose"], tmp_path / "loud")
    assert loud.returncode == 1 and new_store.search(loud.stderr), loud.stderr
    assert "no experiment named 'addexp'" in loud.stderr  # addexp's own message as before
    own = run("addexp-compare", ["-v"], tmp_path / "own", {"MLFLOW_LOGGING_LEVEL": "ERROR"})
    assert own.returncode == 1 and not new_store.search(own.stderr), own.stderr


@pytest.mark.parametrize(
    ("overrides", "verbose"),
    [
        ([], False),
        (["seed=2"], False),
        (["hydra.verbose=true"], True),
        (["hydra.verbose=addexp"], True),
        (["hydra.verbose=[addexp,hydra]"], True),
        (["hydra.verbose=false"], False),
        (["~hydra.verbose"], False),
    ],
)
def test_hydra_verbose_on_the_command_line(overrides, verbose):
    assert hydra_verbose(overrides) is verbose


NATIVE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796653134.454062    4996 port.cc:153] oneDNN custom operations are on.\n"
    "I0000 00:00:1796653134.502987    4996 cpu_feature_guard.cc:227] This TensorFlow binary\n"
    "To enable the following instructions: AVX2 FMA, rebuild TensorFlow.\n"
    "W0000 00:00:1796653134.6   4996 a.cc:1] a warning\n"
    "E0000 00:00:1796653134.7   4996 b.cc:2] an error\n"
    "F0000 00:00:1796653134.8   4996 c.cc:3] a fatal line\n"
    "a line of Python's own\n"
)


@pytest.mark.parametrize(
    ("level", "left"),
    [
        (0, NATIVE),
        (1, "".join(NATIVE.splitlines(keepends=True)[4:])),
        (2, "".join(NATIVE.splitlines(keepends=True)[5:])),
        (3, "".join(NATIVE.splitlines(keepends=True)[6:])),
    ],
)
def test_tensorflows_import_lines_are_held_to_its_level(level, left):
    # through file descriptor 2, as TensorFlow's C++ writes them, in a process of its own
    program = (
        "import os, sys\n"
        "from addexp.console import held_to_level\n"
        "with held_to_level():\n"
        f"    os.write(2, {NATIVE.encode()!r})\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["TF_CPP_MIN_LOG_LEVEL"] = str(level)
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == left, done.stderr


def test_importing_tensorflow_after_addexp_prints_nothing():
    # whatever this CPU makes TensorFlow say at import (oneDNN on AVX512-VNNI, CPU features)
    env = {k: v for k, v in os.environ.items() if k not in NEWCOMER_UNSET}
    program = "import addexp.cli, tensorflow, keras; print('imported')"
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "imported\n", done.stderr
    assert done.stderr == "", done.stderr


def test_the_sweep_console_passes_warnings_and_single_runs_whole():
    from addexp.sweeps.callback import SweepConsole

    def record(name: str, level: int = logging.INFO, **extra) -> logging.LogRecord:
        made = logging.LogRecord(name, level, __file__, 1, "line", None, None)
        made.__dict__.update(extra)
        return made

    console = SweepConsole(jobs=True)
    launcher = "hydra._internal.core_plugins.basic_launcher"
    assert not console.filter(record(launcher))
    assert console.filter(record(launcher, logging.WARNING))
    assert console.filter(record("addexp"))  # no Hydra job here: a single run's console is whole
    assert console.filter(record("addexp", sweep=True))


@pytest.mark.parametrize(
    "library",
    [
        "matplotlib.font_manager",
        "absl",
        "urllib3.connectionpool",
        "alembic.runtime.migration",
        "tensorflow",
        "keras",
        "mlflow.store",
        "git.cmd",
        "root",
    ],
)
def test_a_librarys_info_lines_stay_off_the_console(library):
    from addexp.sweeps.callback import SweepConsole

    for console in (SweepConsole(jobs=True), SweepConsole()):
        info = logging.LogRecord(library, logging.INFO, __file__, 1, "line", None, None)
        warning = logging.LogRecord(library, logging.WARNING, __file__, 1, "line", None, None)
        assert not console.filter(info) and console.filter(warning)
    for ours in ("addexp", "addexp.training", "hydra.core.utils", "hydra_plugins.x_sweeper._impl"):
        shown = logging.LogRecord(ours, logging.INFO, __file__, 1, "line", None, None)
        assert SweepConsole().filter(shown), ours
