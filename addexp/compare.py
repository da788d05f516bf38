"""Compare MLflow runs: group by config keys, aggregate a metric over seeds, print a table.

    addexp-compare --experiment addexp --group-by tags.preset data.masking
    addexp-compare --filter "tags.preset = 'ext_masking'" --group-by data.masking --format csv

Group keys are param names (`data.masking`) or `tags.NAME`; the default groups by preset and
every param that differs between the selected runs, seed excepted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

SKIP_VARYING = {"seed", "tracking.run_name"}


def load_runs(uri: str, experiment: str, filter_string: str = "") -> list[dict]:
    """FINISHED runs of the experiment as plain dicts of params, tags and metrics."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise SystemExit(f"addexp-compare: no experiment named {experiment!r} at {uri}")
    query = "attributes.status = 'FINISHED'" + (f" and {filter_string}" if filter_string else "")
    runs, token = [], None
    while True:
        page = client.search_runs([exp.experiment_id], query, max_results=1000, page_token=token)
        runs += [
            {
                "params": dict(r.data.params),
                "tags": dict(r.data.tags),
                "metrics": dict(r.data.metrics),
            }
            for r in page
        ]
        token = page.token
        if not token:
            return runs


def _value(run: dict, key: str) -> str:
    if key.startswith("tags."):
        return run["tags"].get(key[5:], "")
    return run["params"].get(key, "")


def varying_keys(runs: list[dict]) -> list[str]:
    """Params whose values differ across the runs (seed excepted), in name order."""
    keys = sorted({k for r in runs for k in r["params"]} - SKIP_VARYING)
    return [k for k in keys if len({r["params"].get(k) for r in runs}) > 1]


def aggregate(runs: list[dict], group_by: Sequence[str], metric: str) -> list[dict]:
    """One row per group: the group's key values and the metric's n, median, min, max, mean, std."""
    groups: dict[tuple, list[float]] = {}
    for run in runs:
        if metric in run["metrics"]:
            key = tuple(_value(run, k) for k in group_by)
            groups.setdefault(key, []).append(run["metrics"][metric])
    rows = []
    for key, values in sorted(groups.items()):
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="addexp-compare", description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default=f"sqlite:///{Path.cwd() / 'mlflow.db'}")
    parser.add_argument("--experiment", default="addexp")
    parser.add_argument("--filter", default="", help="MLflow search filter, ANDed with FINISHED")
    parser.add_argument("--group-by", nargs="*", default=None, help="params or tags.NAME")
    parser.add_argument("--metric", default="test/exact_match")
    parser.add_argument("--format", choices=["md", "csv"], default="md")
    args = parser.parse_args(argv)
    runs = load_runs(args.uri, args.experiment, args.filter)
    group_by = args.group_by if args.group_by is not None else ["tags.preset", *varying_keys(runs)]
    print(f"{args.metric} over {len(runs)} runs, grouped by {', '.join(group_by) or '(all)'}")
    print(format_table(aggregate(runs, group_by, args.metric), args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
