"""Seeded runs whose metrics are kept in `metrics.json`: the same config and seed must give the
same metrics, whatever the code's layout. `python -m tests.golden.runs` records them anew (only
when a change is meant to change what a run computes)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

GOLDEN = Path(__file__).with_name("metrics.json")
SMALL = ["train.epochs=2", "train.examples=200", "eval.examples=100", "eval.show=0"]

# One per framing and family, each with an option of its own and an evaluation set.
CASES: dict[str, list[str]] = {
    "seq2seq": [*SMALL, "seed=3", "+eval.sets.wide={digits: 3, examples: 50}"],
    "teacher_forcing_beam_hints": [
        *SMALL,
        "model=teacher_forcing",
        "model.units=[32]",
        "model.beam_width=2",
        "format.reverse_output=true",
        "format.position_hints=8",
        "eval=terms",
    ],
    "attention_dot": [
        *SMALL,
        "model=attention",
        "model.units=[24]",
        "model.attention=dot",
        "data.operations=[+,-]",
        "eval=length",
    ],
    "tagger_aligned": [
        *SMALL,
        "model=tagger",
        "format=aligned",
        "data=digits",
        "+eval.sets.long={digits: 12, examples: 50}",
    ],
    "mapping_lstm": [*SMALL, "model=mapping_lstm", "train=fixed", "train.examples=50"],
    "mlp_masked_terms": [*SMALL, "model=mlp", "data.max_terms=3"],
}


def kept(metrics: dict[str, float]) -> dict[str, float]:
    """The metrics a seed fixes: everything but wall times."""
    return {k: v for k, v in sorted(metrics.items()) if "seconds" not in k}


def run_case(overrides: list[str], folder: Path) -> dict[str, float]:
    """Metrics of the one run `addexp overrides` makes in `folder` (its own SQLite store)."""
    import mlflow

    from tests.conftest import addexp

    done = addexp([*overrides, "tracking.log_model=false"], folder)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    client = mlflow.tracking.MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("addexp").experiment_id])
    return kept(run.data.metrics)


def record() -> None:
    results = {}
    for name, overrides in CASES.items():
        with tempfile.TemporaryDirectory() as folder:
            results[name] = run_case(overrides, Path(folder))
        print(name, results[name], file=sys.stderr)
    GOLDEN.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    record()
