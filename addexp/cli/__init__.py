"""The commands: `addexp` (train), `addexp-predict`, `addexp-eval`, `addexp-compare`,
`addexp-runs` and `addexp-ui`, one module each, sharing `addexp.cli.entry` (the schemas, the
checks, the exit status of a refusal).

Importing the package sets the console's defaults before TensorFlow or MLflow is imported
anywhere, so that a command shows addexp's own lines and nothing of its libraries' start-up:
TensorFlow's C++ log (absl `I0000`/`W0000`/`E0000` lines: CPU features, oneDNN, CUDA probing)
off, MLflow's log at warnings (no `Creating initial MLflow database tables...`, no alembic
migrations, no system-metrics chatter), no `View run ... at` lines from MLflow (addexp prints
its own address of a run) and no artifact-download bars between a command's own lines. Each is
a library's own variable, and one the user set is kept; TensorFlow's lines printed while it is
imported, which ignore its variable, are held to it by `addexp.console`.
`console(verbose=True)` (`-v` on the commands, `hydra.verbose` on `addexp`) gives the libraries
their own defaults back.

It may import `addexp.sweeps` and every package below it.
"""

import atexit
import contextlib
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn

from addexp.console import FATAL_ONLY
from addexp.console import install as hold_tensorflow_lines

EXIT_USAGE = 2  # the exit status of a refused command line or config: nothing was run

# The libraries' variables addexp sets when the user has not: their values on a quiet console.
QUIET = {
    "TF_CPP_MIN_LOG_LEVEL": FATAL_ONLY,
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
_DEFAULTED = tuple(name for name in QUIET if name not in os.environ)
for _name in _DEFAULTED:
    os.environ[_name] = QUIET[_name]
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
hold_tensorflow_lines()  # TensorFlow's import-time C++ lines, which ignore its own level

VERBOSE_HELP = "also show TensorFlow's and MLflow's own log lines (start-up, store migrations)"


def console(verbose: bool) -> None:
    """Asked for verbosity: drop the quiet values addexp set (a user's own are kept), so that
    TensorFlow and MLflow log as they do by themselves. Must come before TensorFlow is imported
    (its C++ log reads the variable once); MLflow's loggers, if it is imported already, are
    set again."""
    if not verbose:
        return
    for name in _DEFAULTED:
        os.environ.pop(name, None)
    if "mlflow" in sys.modules and "MLFLOW_LOGGING_LEVEL" in _DEFAULTED:
        logging.getLogger("mlflow").setLevel(logging.INFO)  # MLflow's own default


def add_verbose(parser) -> None:
    """`-v`/`--verbose` on an argparse command (`console`)."""
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)


def hydra_verbose(overrides: Sequence[str]) -> bool:
    """Whether an `addexp` command line sets `hydra.verbose` to anything but false: Hydra's
    debug logging for some loggers (`true`, `addexp`, `[addexp,hydra]`), and then the libraries'
    own lines too."""
    for override in overrides:
        key, equals, value = override.partition("=")
        if equals and key.lstrip("+") == "hydra.verbose":  # `~hydra.verbose` drops it
            return value.strip().strip("'\"").lower() not in ("false", "", "[]", "null")
    return False


def finish(status: int) -> NoReturn:
    """End a command's process as soon as its work is done, with exit status `status`.

    What Python does at exit runs, in its order and by its own functions: the threads' exit
    hooks (idle executor workers are told to stop) and the wait for non-daemon threads
    (`threading._shutdown`), then every function registered to run at exit (MLflow's flushes,
    temporary folders, the logging handlers). Only the interpreter's tear-down of its modules
    is skipped: with TensorFlow, Keras and MLflow imported that takes about 2 s after the last
    line is printed (the inference section of docs/benchmarks.md), and frees nothing the
    operating system does not free at once. A standard stream already closed
    (`addexp-predict ... | head -1`) is not flushed again.
    """
    threading._shutdown()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(status)


def command(main: Callable[[], int]) -> Callable[[], NoReturn]:
    """The console script of a command whose `main()` returns its exit status (`finish`). A
    reader that closed the standard output early (`| head -1`) ends it with status 1 and no
    traceback, as Python's documentation advises for SIGPIPE."""

    @functools.wraps(main)
    def script() -> NoReturn:
        try:
            status = main()
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            status = 1
        finish(status)

    return script
