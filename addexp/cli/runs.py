"""`addexp-runs`: the runs MLflow shows as RUNNING, which of them are stale, and ending those.

    addexp-runs                      # RUNNING runs of experiment `addexp`: alive or stale, and why
    addexp-runs --stale              # only the stale ones (their process was killed outright)
    addexp-runs --stale --mark       # end them KILLED, the reason in tag `error`

A run is stale when its process is gone (judged on the host that ran it) or when it has not
beaten its heartbeat for `--stale-after` minutes (see `addexp.tracking.liveness`). Nothing else is
changed:
metrics, params and artifacts a stale run logged stay as they are.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from addexp.cli import EXIT_USAGE, add_verbose, command, console
from addexp.tracking import environment, liveness
from addexp.tracking.environment import EXPERIMENT_HELP, URI_HELP, default_experiment, default_uri


def _row(run, verdict: liveness.Verdict) -> str:
    started = datetime.fromtimestamp(run.info.start_time / 1000).strftime("%Y-%m-%d %H:%M:%S")
    state = "stale" if verdict.stale else "alive"
    return f"| {run.info.run_id} | {run.info.run_name} | {started} | {state} | {verdict.reason} |"


def main(argv: Sequence[str] | None = None) -> int:
    environment.ignore(program="addexp-runs")
    parser = argparse.ArgumentParser(prog="addexp-runs", description=__doc__.splitlines()[0])
    parser.add_argument("--uri", help=URI_HELP)
    parser.add_argument("--experiment", default=default_experiment(), help=EXPERIMENT_HELP)
    parser.add_argument("--stale", action="store_true", help="list only stale runs")
    parser.add_argument("--mark", action="store_true", help="end the stale runs KILLED")
    parser.add_argument(
        "--stale-after",
        type=float,
        default=liveness.STALE_AFTER_SECONDS / 60,
        metavar="MINUTES",
        help="a run without a heartbeat for this long is stale (default: %(default)g)",
    )
    add_verbose(parser)
    args = parser.parse_args(argv)
    console(args.verbose)
    from mlflow.tracking import MlflowClient

    from addexp.tracking.store import resolve_uri
    from addexp.tracking.store_checks import StoreError, check_store_to_read

    uri = resolve_uri(args.uri, Path.cwd()) if args.uri else default_uri()
    try:
        check_store_to_read(uri)
    except StoreError as error:
        print(f"addexp-runs: {error}", file=sys.stderr)
        return EXIT_USAGE
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        print(f"addexp-runs: no experiment {args.experiment!r} at {uri}", file=sys.stderr)
        return EXIT_USAGE
    now = time.time()
    judged = [
        (run, liveness.judge(run, now, args.stale_after * 60))
        for run in liveness.running_runs(client, [experiment.experiment_id])
    ]
    shown = [(r, v) for r, v in judged if v.stale or not args.stale]
    stale = [(r, v) for r, v in judged if v.stale]
    print(
        f"{len(judged)} run(s) of experiment {args.experiment!r} show RUNNING; "
        f"{len(stale)} of them stale"
    )
    if shown:
        print("| run_id | name | started | state | why |\n|---|---|---|---|---|")
        print("\n".join(_row(r, v) for r, v in shown))
    if args.mark:
        for run, verdict in stale:
            liveness.mark_stale(client, run, verdict)
        print(f"marked {len(stale)} stale run(s) KILLED")
    return 0


script = command(main)  # the console script: exits as soon as main is done

if __name__ == "__main__":
    script()
