"""Compare MLflow runs: group by config keys, aggregate a metric over seeds, print a table.

    addexp-compare --experiment addexp --group-by tags.preset encoding.masking
    addexp-compare --filter "tags.preset = 'ext_masking'" --group-by encoding.masking --format csv
    addexp-compare --parent RUN_ID --plot sweep.png     # a sweep's children; logs to the parent
    addexp-compare --metric test/exact_match length_x2/exact_match   # one row per metric and group

Group keys are param names (`encoding.masking`) or `tags.NAME`. The default groups a sweep's
children by its swept keys, and other runs by preset and every param that differs, seed excepted.
"""

from __future__ import annotations

import argparse
import difflib
import re
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from addexp.cli import EXIT_USAGE, add_verbose, command, console
from addexp.tracking import environment
from addexp.tracking.environment import EXPERIMENT_HELP, URI_HELP, default_experiment, default_uri

SKIP_VARYING = {"seed", "tracking.run_name"}


def load_runs(
    uri: str, experiment: str, filter_string: str = "", parent: str | None = None
) -> list[dict]:
    """FINISHED runs (of the experiment, or children of `parent`) as dicts of params, tags and
    metrics; sweep parent runs are left out."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment_id = _experiment_id(client, uri, experiment, parent)
    clauses = ["attributes.status = 'FINISHED'"]
    if parent:
        clauses.append(f"tags.mlflow.parentRunId = '{parent}'")
    if filter_string:
        clauses.append(filter_string)
    query = " and ".join(clauses)
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], query, max_results=1000, page_token=token)
        runs += [
            {
                "params": dict(r.data.params),
                "tags": dict(r.data.tags),
                "metrics": dict(r.data.metrics),
            }
            for r in page
            if "sweep.keys" not in r.data.tags  # a sweep's parent holds no experiment of its own
        ]
        token = page.token
        if not token:
            return runs


def parent_id(uri: str, parent: str) -> str:
    """The run id of a sweep's parent named by its id, or by its run name (`sweep seq2seq:
    seed`, as the UI shows it). Raises LookupError saying what the store holds instead."""
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    if re.fullmatch(r"[0-9a-f]{32}", parent):
        try:
            return client.get_run(parent).info.run_id
        except MlflowException:
            raise LookupError(f"no run with this id in the store {uri}.") from None
    experiments = [e.experiment_id for e in client.search_experiments(ViewType.ACTIVE_ONLY)]
    parents = client.search_runs(experiments, "tags.`sweep.keys` != ''") if experiments else []
    named = [r.info.run_id for r in parents if r.info.run_name == parent]
    if len(named) == 1:
        return named[0]
    names = sorted({r.info.run_name for r in parents})
    said = "names more than one sweep; give its run id" if named else "is no sweep's run id or name"
    raise LookupError(
        f"{said} (a run id is 32 hex digits; the sweeps in this store: "
        f"{', '.join(repr(n) for n in names[:8]) or 'none'})."
    )


def _experiment_id(client, uri: str, experiment: str, parent: str | None) -> str:
    if parent:
        return client.get_run(parent).info.experiment_id
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise SystemExit(f"addexp-compare: no experiment named {experiment!r} at {uri}")
    return exp.experiment_id


def note_running(uri: str, experiment: str, parent: str | None) -> str | None:
    """A note on runs left out because MLflow shows them RUNNING: alive ones are not done yet,
    stale ones (their process is gone, `addexp.tracking.liveness`) never will be."""
    from mlflow.tracking import MlflowClient

    from addexp.tracking import liveness

    client = MlflowClient(tracking_uri=uri)
    narrow = f"tags.mlflow.parentRunId = '{parent}'" if parent else ""
    runs = liveness.running_runs(client, [_experiment_id(client, uri, experiment, parent)], narrow)
    runs = [r for r in runs if "sweep.keys" not in r.data.tags]
    if not runs:
        return None
    stale = sum(liveness.judge(r).stale for r in runs)
    return (
        f"note: {len(runs)} run(s) showing RUNNING are left out: {len(runs) - stale} still "
        f"going, {stale} stale (their process is gone; `addexp-runs --stale --mark` ends them)"
    )


def _value(run: dict, key: str) -> str:
    """A run's value of a group key: a tag (`tags.NAME`), a param, or for a key that holds a
    section (`+eval.sets.wide={digits: 3}` swept) its params under it as `{digits: 3}`."""
    if key.startswith("tags."):
        return run["tags"].get(key[5:], "")
    params = run["params"]
    if key in params:
        return params[key]
    inner = [
        f"{k[len(key) + 1 :]}: {v}" for k, v in sorted(params.items()) if k.startswith(f"{key}.")
    ]
    return "{" + ", ".join(inner) + "}" if inner else ""


def _unknown(runs: list[dict], group_by: Sequence[str], metrics: Sequence[str]) -> str | None:
    """What no run of `runs` holds: a --group-by key (a param, a section of params or
    `tags.NAME`) or a --metric; with the closest names the runs do hold. None when all are."""
    if not runs:
        return None
    for key in group_by:
        if not any(_value(run, key) for run in runs):
            held = sorted({k for r in runs for k in r["params"]})
            held += sorted({f"tags.{k}" for r in runs for k in r["tags"]})
            return _no_such("--group-by", key, held, "key")
    for metric in metrics:
        if not any(metric in run["metrics"] for run in runs):
            held = sorted({k for r in runs for k in r["metrics"]})
            return _no_such("--metric", metric, held, "metric")
    return None


def _no_such(option: str, name: str, held: list[str], kind: str) -> str:
    close = difflib.get_close_matches(name.lstrip("+~"), held, n=3)
    said = f"{option} {name}: no run here has this {kind}"
    return said + (f"; did you mean {', '.join(close)}?" if close else ".")


def varying_keys(runs: list[dict]) -> list[str]:
    """Config params whose values differ across the runs, in name order: seed, derived.* (they
    follow from the others) and the config groups' options (the keys they set are params of
    their own) excepted."""
    keys = sorted(
        k
        for k in {k for r in runs for k in r["params"]} - SKIP_VARYING
        if "." in k and not k.startswith("derived.")
    )
    return [k for k in keys if len({r["params"].get(k) for r in runs}) > 1]


def natural_order(key: tuple) -> tuple:
    """Sort numbers as numbers ("10" before "128"), everything else as text."""
    out = []
    for value in key:
        try:
            out.append((0, float(value), ""))
        except ValueError:
            out.append((1, 0.0, value))
    return tuple(out)


def aggregate(runs: list[dict], group_by: Sequence[str], metric: str) -> list[dict]:
    """One row per group: the group's key values and the metric's n, median, min, max, mean, std."""
    groups: dict[tuple, list[float]] = {}
    for run in runs:
        if metric in run["metrics"]:
            key = tuple(_value(run, k) for k in group_by)
            groups.setdefault(key, []).append(run["metrics"][metric])
    rows = []
    for key, values in sorted(groups.items(), key=lambda item: natural_order(item[0])):
        rows.append(
            {
                **dict(zip(group_by, key, strict=True)),
                "n": len(values),
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            }
        )
    return rows


def format_table(rows: list[dict], fmt: str = "md") -> str:
    if not rows:
        return "(no runs matched)"
    columns = list(rows[0])

    def cell(v: object) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    if fmt == "csv":
        return "\n".join(
            [",".join(columns)] + [",".join(cell(r[c]) for c in columns) for r in rows]
        )
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def plot(rows: list[dict], group_by: Sequence[str], metric: str, path: Path) -> Path:
    """Median per group with a bar from min to max (the spread over seeds), one row per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [", ".join(f"{k}={r[k]}" for k in group_by) or "all" for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(rows) + 1.5))
    y = range(len(rows))
    medians = [r["median"] for r in rows]
    spread = [[r["median"] - r["min"] for r in rows], [r["max"] - r["median"] for r in rows]]
    ax.errorbar(medians, y, xerr=spread, fmt="o", capsize=4)
    for i, r in enumerate(rows):
        ax.annotate(
            f"{r['median']:.3f} (n={r['n']})",
            (r["median"], i),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_yticks(list(y), labels, fontsize=8)
    if all(r["min"] >= 0 and r["max"] <= 1 for r in rows):  # rates: show the whole scale
        ax.set_xlim(0, 1.1)
    ax.set_xlabel(f"{metric}: median, min-max over runs")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _sweep_keys(uri: str, parent: str) -> list[str]:
    from mlflow.tracking import MlflowClient

    keys = MlflowClient(uri).get_run(parent).data.tags.get("sweep.keys", "")
    return [k for k in keys.split(",") if k and k not in SKIP_VARYING]  # plain keys


def _log_to_parent(uri: str, parent: str, table: str, image: Path | None, metric: str) -> None:
    import tempfile

    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    name = metric.replace("/", "_")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"compare_{name}.md"
        path.write_text(table + "\n")
        client.log_artifact(parent, str(path), "comparison")
    if image is not None:
        client.log_artifact(parent, str(image), "comparison")


def main(argv: Sequence[str] | None = None) -> int:
    environment.ignore(program="addexp-compare")
    parser = argparse.ArgumentParser(prog="addexp-compare", description=__doc__.splitlines()[0])
    parser.add_argument("--uri", help=URI_HELP)
    parser.add_argument("--experiment", default=default_experiment(), help=EXPERIMENT_HELP)
    parser.add_argument("--filter", default="", help="MLflow search filter, ANDed with FINISHED")
    parser.add_argument("--parent", help="a sweep's parent run id: compare its children")
    parser.add_argument("--plot", type=Path, help="write a PNG of the metric per group here")
    parser.add_argument(
        "--no-log", action="store_true", help="with --parent: do not log table and plot to it"
    )
    parser.add_argument("--group-by", nargs="*", default=None, help="params or tags.NAME")
    parser.add_argument(
        "--metric", nargs="+", default=["test/exact_match"], help="one or more metrics"
    )
    parser.add_argument("--format", choices=["md", "csv"], default="md")
    add_verbose(parser)
    args = parser.parse_args(argv)
    console(args.verbose)
    from addexp.tracking.store import resolve_uri

    # after parsing: `--help` needs no MLflow; a relative path means this folder, as elsewhere
    args.uri = resolve_uri(args.uri, Path.cwd()) if args.uri else default_uri()
    from mlflow.exceptions import MlflowException

    from addexp.tracking.store_checks import StoreError, check_store_to_read

    try:
        check_store_to_read(args.uri)
    except StoreError as error:
        print(f"addexp-compare: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.parent:
        try:
            args.parent = parent_id(args.uri, args.parent)
        except LookupError as error:
            print(f"addexp-compare: --parent {args.parent!r}: {error}", file=sys.stderr)
            return EXIT_USAGE
    try:
        runs = load_runs(args.uri, args.experiment, args.filter, args.parent)
    except MlflowException as error:  # a filter MLflow's search grammar does not take
        if not args.filter:
            raise
        message = str(error).strip().splitlines()[0]
        print(f"addexp-compare: --filter {args.filter!r}: {message}", file=sys.stderr)
        return EXIT_USAGE
    note = note_running(args.uri, args.experiment, args.parent)
    if note:
        print(note, file=sys.stderr)
    unknown = _unknown(runs, args.group_by or [], args.metric)
    if unknown:
        print(f"addexp-compare: {unknown}", file=sys.stderr)
        return EXIT_USAGE
    for m in args.metric:
        count = sum(m not in r["metrics"] for r in runs)
        if count:
            print(
                f"addexp-compare: note: {count} of {len(runs)} runs logged no {m}; they are "
                "left out of its rows.",
                file=sys.stderr,
            )
    group_by = args.group_by
    if group_by is None:
        swept = _sweep_keys(args.uri, args.parent) if args.parent else []
        group_by = swept or ["tags.preset", *varying_keys(runs)]
    metric = " ".join(args.metric)
    if len(args.metric) == 1:
        rows = aggregate(runs, group_by, metric)
    else:  # one block of rows per metric, the metric as the first column
        rows = [{"metric": m, **r} for m in args.metric for r in aggregate(runs, group_by, m)]
        group_by = ["metric", *group_by]
    table = format_table(rows, args.format)
    counted = f"{len(runs)} run{'' if len(runs) == 1 else 's'}"
    print(f"{metric} over {counted}, grouped by {', '.join(group_by) or '(all)'}")
    print(table)
    image = None
    if rows and (args.plot or args.parent):
        with_default = args.plot or Path(f"compare_{args.metric[0].replace('/', '_')}.png")
        image = plot(rows, group_by, metric, with_default)
        print(f"plot: {image}")
    if args.parent and not args.no_log:
        _log_to_parent(args.uri, args.parent, table, image, args.metric[0])
        print(f"logged table and plot to run {args.parent} under comparison/")
    return 0


script = command(main)  # the console script: exits as soon as main is done

if __name__ == "__main__":
    script()
