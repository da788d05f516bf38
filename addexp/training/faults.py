"""How a run stops early, and what the user is told: a signal (`Interrupted`) or a loss that is no
longer a number (`Diverged`). No TensorFlow, no MLflow.

SIGINT, SIGTERM and SIGHUP become `Interrupted` (a KeyboardInterrupt) in the main thread, so every
cleanup path that already handles Ctrl-C (the run ended KILLED, its checkpoint logged, a sweep's
parent ended) runs for the signals schedulers and `kill` send too. Python's own SIGINT handling
raises a bare KeyboardInterrupt and leaves SIGTERM and SIGHUP fatal, which is why the handlers are
replaced. A second signal during that cleanup stops the process at once.

Inside `deferred()` a signal waits: it is raised at the next `check()` or when the block ends,
and `pending()` tells code that cannot raise (a Keras callback) to wind up. A run defers all it
does, because an exception raised at an arbitrary point can leave the SQLite store locked by an
MLflow write cut in half (so the run's status could not be recorded: seen in a third of tries)
or a checkpoint half written; training stops after the current batch, the way Keras's own
callbacks stop it, rather than by an exception thrown through `fit` mid-step.
"""

from __future__ import annotations

import math
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
EXIT_DIVERGED = 1
_deferred = [0]  # nesting depth of deferred blocks (main thread only: handlers run there)
_pending: list[int] = []  # a signal waiting for the next check()


class Interrupted(KeyboardInterrupt):
    """A signal asked the process to stop. `signum`: which one; the message says what was kept."""

    def __init__(self, signum: int = signal.SIGINT, message: str = ""):
        super().__init__(message)
        self.signum = signum
        self.message = message or f"interrupted by {signal.Signals(signum).name}"

    def __str__(self) -> str:
        return self.message

    @property
    def exit_status(self) -> int:
        """128 + the signal number, as a shell reports a process a signal ended (130, 143)."""
        return 128 + self.signum


class Diverged(RuntimeError):
    """The training loss became NaN or infinite: training stopped after that batch.

    `epoch` counts from 1; `epochs` is the configured number; `loss` the value Keras reported."""

    def __init__(self, epoch: int, epochs: int, loss: float):
        super().__init__(
            f"training diverged: the loss became {loss} in epoch {epoch} of {epochs}; "
            "training stopped there (lower train.learning_rate or change train.optimizer)"
        )
        self.epoch, self.epochs, self.loss = epoch, epochs, loss


def interruption(error: KeyboardInterrupt, message: str = "") -> Interrupted:
    """`error` as an Interrupted carrying `message` (a bare KeyboardInterrupt was SIGINT)."""
    if isinstance(error, Interrupted) and not message:
        return error
    signum = error.signum if isinstance(error, Interrupted) else signal.SIGINT
    name = signal.Signals(signum).name
    return Interrupted(signum, f"interrupted by {name}" + (f" {message}" if message else ""))


def _force(signum: int, frame) -> None:
    """A second signal: the default action (the process ends now, without cleanup)."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _interrupt(signum: int, frame) -> None:
    for other in SIGNALS:
        if signal.getsignal(other) is _interrupt:
            signal.signal(other, _force)
    if _deferred[0]:
        _pending.append(signum)
        return
    raise Interrupted(signum)


def pending() -> bool:
    """A signal is waiting (inside `deferred()`): wind up and `check()`."""
    return bool(_pending)


def check() -> None:
    """A safe point: raise `Interrupted` for a signal that has been waiting, if any."""
    if _pending:
        signum = _pending[0]
        _pending.clear()
        raise Interrupted(signum)


@contextmanager
def deferred() -> Iterator[None]:
    """A block a signal does not cut into: it waits for a `check()` inside the block, or is
    raised when the outermost such block ends. Blocking signals at the OS level would not do:
    CPython runs every handler in the main thread whichever thread the signal reached, so the
    deferral is made in the handler itself."""
    _deferred[0] += 1
    try:
        yield
    finally:
        _deferred[0] -= 1
        if not _deferred[0]:
            check()


def install() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise `Interrupted` in this process's main thread.

    A signal someone chose to ignore (`nohup`, SIGINT in a background job) stays ignored, and a
    handler installed by other code is left alone. Safe to call more than once; does nothing
    outside the main thread (signal handlers can only be set there)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in SIGNALS:
        if signal.getsignal(signum) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(signum, _interrupt)


def report(stop: BaseException, in_sweep: bool) -> float:
    """A run stopped by a fault, told in one line on stderr (no traceback).

    An interrupt ends the process (a sweep too: its remaining jobs are not started) with exit
    status 128 + signal number. Divergence ends a single run with exit status 1; inside a sweep
    the job returns NaN and the sweep goes on (its FAILED child is counted at the end)."""
    if isinstance(stop, KeyboardInterrupt):
        stop = interruption(stop)
        print(f"addexp: {stop}", file=sys.stderr)
        raise SystemExit(stop.exit_status) from None
    print(f"addexp: {stop}", file=sys.stderr)
    if not in_sweep:
        raise SystemExit(EXIT_DIVERGED) from None
    return math.nan
