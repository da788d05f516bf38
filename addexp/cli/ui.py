"""Open the MLflow UI on the store addexp writes to, on the port you choose.

    addexp-ui                          # the store here (mlflow.db), http://127.0.0.1:5000/
    addexp-ui --port 5050 --run RUN_ID # a run's page, on another port
    addexp-ui --uri sqlite:////data/mlflow.db --experiment addexp

It starts MLflow's own server (`mlflow server`) as a child and prints its address only once the
server answers, so the link printed is one that opens. The server is started lean - one worker,
no GenAI job runner (addexp's runs have no judges or traces to process) - which is why it is
ready in less than half the time `mlflow ui` takes with its defaults (docs/ui.md has figures).
The server stops with this command: Ctrl-C, SIGTERM or a closed terminal stop it cleanly.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from addexp.cli import EXIT_USAGE, add_verbose, console
from addexp.tracking import environment
from addexp.tracking.environment import URI_HELP, default_uri

PROGRAM = "addexp-ui"
EXIT_FAILED = 1  # the server could not be started or ended by itself
EXIT_INTERRUPTED = 130  # Ctrl-C: the shell's status for a command ended by SIGINT
READY_SECONDS = 300  # a loaded 2-core machine can take a minute; a stuck start ends here
POLL_SECONDS = 0.2
STOP_SECONDS = 10  # then the server's processes are killed
TAIL_LINES = 15  # of the server's output, shown when it fails
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WILDCARD = {"0.0.0.0", "::", ""}  # every interface: the link uses the loopback address
PAGE = "?workflowType=machine_learning"  # the model-training side of MLflow 3's UI
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a proxy never sees it


class UsageError(Exception):
    """A command line that cannot be served (no store, port taken): nothing was left running."""


class ServerError(Exception):
    """MLflow's server did not come up, or ended by itself; the message carries its last lines."""


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived: a request to stop, answered with a clean stop and status 0."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0])
    parser.add_argument("--uri", help=URI_HELP)
    parser.add_argument(
        "--port", type=_port, default=5000, help="port to serve on (default: %(default)s)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default: %(default)s, this machine only; 0.0.0.0: all)",
    )
    deep = parser.add_mutually_exclusive_group()
    deep.add_argument("--experiment", metavar="NAME", help="print the link to this experiment")
    deep.add_argument("--run", metavar="ID", help="print the link to this run")
    add_verbose(parser)  # here: the server's own output too, on stderr
    return parser


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1-65535)")
    return port


def resolve_store(uri: str | None) -> str:
    """The store to serve, as an absolute URI (`--uri`, else `MLFLOW_TRACKING_URI`, else
    mlflow.db here). A local store must exist already: serving one that does not would create
    an empty store wherever the command happened to be started."""
    from addexp.tracking.store import resolve_uri
    from addexp.tracking.store_checks import StoreError, check_store, sqlite_path

    uri = resolve_uri(uri, Path.cwd()) if uri else default_uri()
    if uri.startswith(("http://", "https://")):
        raise UsageError(
            f"{uri} is an MLflow server already: open {uri.rstrip('/')}/ in a browser. "
            "addexp-ui serves a store of runs (an SQLite file, a folder or a database)."
        )
    database, folder = sqlite_path(uri), local_folder(uri)
    if (database is not None and not database.is_file()) or (folder and not folder.is_dir()):
        where = f" (`addexp` in {database.parent} writes there)" if database else ""
        raise UsageError(
            f"no MLflow store at {uri}: no runs were logged there yet. Run `addexp` with that "
            f"store first{where}, or point --uri (or MLFLOW_TRACKING_URI) at a store that "
            "holds runs."
        )
    try:
        check_store(uri)
    except StoreError as error:
        raise UsageError(str(error)) from None
    return uri


def local_folder(uri: str) -> Path | None:
    """The folder of a file store (`file:` URI or plain path); None for other stores."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path))
    return Path(uri) if parts.scheme == "" else None


def artifacts_folder(uri: str) -> Path | None:
    """Where the server puts artifacts of experiments created through it: `mlruns/` beside an
    SQLite file, as addexp's own experiments do (existing runs keep their own locations); a
    file store's own folder; a remote database's server chooses (None)."""
    from addexp.tracking.store_checks import sqlite_path

    database = sqlite_path(uri)
    return database.parent / "mlruns" if database is not None else local_folder(uri)


def check_port(host: str, port: int) -> None:
    """Raise UsageError unless the server could listen on `host`:`port` now, asked of the system
    as the server will ask it (a bind with SO_REUSEADDR, IPv6 only for an address with a colon),
    so a taken port is one clear message instead of a server that dies half-started."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        address = socket.getaddrinfo(host or None, port, family, socket.SOCK_STREAM)[0][4]
    except socket.gaierror as error:
        raise UsageError(
            f"--host {host}: {error.strerror}; give an address of this machine."
        ) from None
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise UsageError(
                    f"cannot listen on {host}:{port} ({error.strerror}); choose another "
                    "--port or --host."
                ) from None
            raise UsageError(_in_use(host, port)) from None


def _in_use(host: str, port: int) -> str:
    base = address(host, port)
    held = f"another MLflow UI answers at {base}/" if _healthy(base) else "another program has it"
    return (
        f"port {port} is in use on {host or '0.0.0.0'}: {held}. Stop that, or choose a free "
        f"port, e.g. addexp-ui --port {port + 1 if port < 65535 else 5000}."
    )


def address(host: str, port: int) -> str:
    """The server's base URL as a browser here reaches it: the loopback address for a server on
    every interface, brackets around an IPv6 address."""
    shown = {"::": "::1"}.get(host, "127.0.0.1" if host in WILDCARD else host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def server_command(uri: str, host: str, port: int) -> list[str]:
    """`mlflow server` for `uri`: one worker (the UI of one person needs no more, and each
    worker imports all of MLflow again), artifacts beside a local store, and the named host
    accepted in the Host header (MLflow accepts only localhost and private addresses
    otherwise)."""
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri]
    command += ["--host", host, "--port", str(port), "--workers", "1"]
    folder = artifacts_folder(uri)
    if folder is not None:
        command += ["--artifacts-destination", str(folder)]
    if host not in LOOPBACK | WILDCARD:
        named = host if ":" not in host else f"[{host}]"
        command += ["--allowed-hosts", f"{named},{named}:{port},localhost:*,127.0.0.1:*"]
    return command


class Server:
    """MLflow's server as a child process in a process group of its own, so that stopping it
    stops its workers too and a Ctrl-C in the terminal reaches this command alone. Without
    `verbose` its output is kept back, the last lines for the message if it fails."""

    def __init__(self, command: list[str], verbose: bool) -> None:
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # The GenAI job runner (judges, trace roll-ups) starts seven more processes.
        env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        quiet = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
            errors="replace",
            start_new_session=True,
            preexec_fn=_die_with_parent(),
            **({"stdout": sys.stderr.fileno()} if verbose else quiet),  # stdout: the link only
        )
        self.reader = threading.Thread(target=self._keep_tail, daemon=True)
        if not verbose:
            self.reader.start()

    def _keep_tail(self) -> None:
        for line in self.process.stdout:
            self.tail.append(line.rstrip())

    def failure(self, what: str) -> ServerError:
        """`what` went wrong, with the server's exit status and last lines when it has them."""
        status = self.process.poll()
        if status is not None and self.reader.is_alive():
            self.reader.join(2)  # the last lines it wrote
        ended = "" if status is None else f" (it exited with status {status})"
        lines = "\n".join(f"    {line}" for line in self.tail if line)
        shown = f"; its last lines:\n{lines}" if lines else "; -v shows its output"
        return ServerError(f"MLflow's server {what}{ended}{shown}")

    def wait_ready(self, base: str, deadline: float) -> None:
        """Return once the server answers `/health`; raise ServerError if it ends first or
        does not answer by `deadline` (monotonic)."""
        while not _healthy(base):
            if self.process.poll() is not None:
                raise self.failure("stopped before it was ready")
            if time.monotonic() > deadline:
                raise self.failure(f"did not answer at {base}/health in {READY_SECONDS} s")
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        """End the server and every process of its group: SIGTERM (it stops cleanly), SIGKILL
        for what remains after STOP_SECONDS. Further signals are ignored until it is done."""
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
        _signal_group(self.process.pid, signal.SIGKILL)  # a worker left without its parent


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(group, signum)


def _die_with_parent() -> Callable[[], object] | None:
    """On Linux, a function making the child get SIGTERM when this command dies, even by
    SIGKILL, so no server is left holding the port; elsewhere None. Looked up before the fork:
    the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


def _healthy(base: str) -> bool:
    try:
        with NO_PROXY.open(f"{base}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _api(base: str, asked: str, path: str, **query: str) -> dict:
    """GET one of the server's REST endpoints; UsageError naming `asked` (the option) for what
    the store does not have."""
    url = f"{base}/api/2.0/mlflow/{path}?{urllib.parse.urlencode(query)}"
    try:
        with NO_PROXY.open(url, timeout=60) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        try:
            message = json.load(error).get("message", error.reason)
        except ValueError:
            message = error.reason
        raise UsageError(f"{asked}: {message} (HTTP {error.code} from {base})") from None


def link(base: str, experiment: str | None = None, run: str | None = None) -> str:
    """The page to open: a run's or an experiment's (asked of the server, which also has it
    read the store once, so the first page a person opens comes quickly), else the start page."""
    from addexp.tracking.store import ui_address

    if run:
        info = _api(base, f"--run {run}", "runs/get", run_id=run)["run"]["info"]
        return ui_address(base, info["experiment_id"], run)
    if experiment:
        asked = f"--experiment {experiment!r}"
        found = _api(base, asked, "experiments/get-by-name", experiment_name=experiment)
        return f"{base}/#/experiments/{found['experiment']['experiment_id']}/runs{PAGE}"
    _api(base, "the store", "experiments/search", max_results="1")
    return f"{base}/"


def _stop_request(signum: int, _frame: object) -> None:
    raise Stopped(signal.Signals(signum).name)


def serve(uri: str, args: argparse.Namespace) -> int:
    """Start the server, print the link once it answers, and wait until asked to stop; the
    exit status says how it ended (0 asked to stop, 130 Ctrl-C, 2 no such run, 1 failed)."""
    signal.signal(signal.SIGTERM, _stop_request)
    signal.signal(signal.SIGHUP, _stop_request)
    base = address(args.host, args.port)
    print(f"{PROGRAM}: starting MLflow's server for {uri} ...", file=sys.stderr, flush=True)
    server = None
    try:
        server = Server(server_command(uri, args.host, args.port), args.verbose)
        server.wait_ready(base, time.monotonic() + READY_SECONDS)
        page = link(base, args.experiment, args.run)
        print(f"{PROGRAM}: MLflow UI on {uri} at {page}  (Ctrl-C stops it)", flush=True)
        server.process.wait()
        raise server.failure("ended by itself")
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Stopped:
        return 0
    except UsageError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ServerError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if server is not None:
            server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """`addexp-ui`: refuse what cannot be served (exit 2) before anything starts, then serve."""
    environment.ignore(program=PROGRAM)
    args = _parser().parse_args(argv)
    console(args.verbose)  # the server inherits the console's settings
    try:
        uri = resolve_store(args.uri)  # after parsing: `--help` needs no MLflow
        check_port(args.host, args.port)
    except UsageError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # while MLflow is imported: nothing started yet
        return EXIT_INTERRUPTED
    return serve(uri, args)


if __name__ == "__main__":
    sys.exit(main())
