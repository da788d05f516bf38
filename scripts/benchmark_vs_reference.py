"""Time `addexp experiment=tutorial_seq2seq` against the plain Keras reference script.

Runs the two alternately (reference, addexp, reference, ...) for each seed on the same machine in
the same sitting, so background load hits both alike, and prints a Markdown table of training
seconds and test exact match, with the ratio of medians. Training time is the fit loop, data
generation included, in both programs (addexp's `train/seconds` metric).

    python scripts/benchmark_vs_reference.py --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def reference(seed: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(HERE / "reference_tutorial_seq2seq.py"), "--seed", str(seed)],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"seconds": result["train_seconds"], "exact_match": result["exact_match"]}


def addexp(seed: int, folder: Path) -> dict[str, float]:
    import mlflow

    store = f"sqlite:///{folder / 'mlflow.db'}"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("addexp")),
            "experiment=tutorial_seq2seq",
            f"seed={seed}",
            f"tracking.uri={store}",
            "eval.show=0",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    mlflow.set_tracking_uri(store)
    run = mlflow.search_runs(experiment_names=["addexp"], filter_string=f"params.seed = '{seed}'")
    row = run.iloc[0]
    return {"seconds": row["metrics.train/seconds"], "exact_match": row["metrics.test/exact_match"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            ref = reference(seed)
            ours = addexp(seed, Path(tmp))
            rows.append((seed, ref, ours))
            print(f"seed {seed}: reference {ref}  addexp {ours}", file=sys.stderr)
    print("| seed | reference s | addexp s | reference exact | addexp exact |")
    print("|---|---|---|---|---|")
    for seed, ref, ours in rows:
        print(
            f"| {seed} | {ref['seconds']:.1f} | {ours['seconds']:.1f} | "
            f"{ref['exact_match']:.3f} | {ours['exact_match']:.3f} |"
        )
    ref_s = statistics.median(r[1]["seconds"] for r in rows)
    ours_s = statistics.median(r[2]["seconds"] for r in rows)
    ref_x = statistics.median(r[1]["exact_match"] for r in rows)
    ours_x = statistics.median(r[2]["exact_match"] for r in rows)
    print(f"| median | {ref_s:.1f} | {ours_s:.1f} | {ref_x:.3f} | {ours_x:.3f} |")
    print(f"\ntraining-time ratio addexp / reference (medians): {ours_s / ref_s:.2f}")


if __name__ == "__main__":
    main()
