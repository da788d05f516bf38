"""Data: problems per second from sampling to one-hot arrays, addexp against the tutorial.

addexp's path is `addexp.problems.sampling.sample` (NumPy, exact at any size; a sum is folded
column by column) and the framing's `inputs` and `targets` (questions and answers written into
character codes, padded, indexed, one-hot), exactly what a run calls per epoch; the reference is
the tutorial's `generate_data` (random_sum_pairs, to_string, integer_encode, one_hot_encode;
`addexp.benchmarks.tutorial_data`). Both produce one-hot questions and answers of the same widths
for the same problem space (two terms uniform in 1..largest).
"""

from __future__ import annotations

import time

import numpy as np

from addexp.benchmarks.measure import alternate
from addexp.benchmarks.report import Section, Table
from addexp.benchmarks.settings import Settings
from addexp.benchmarks.setup import compose
from addexp.benchmarks.tutorial_data import ALPHABET, generate_data

PRESETS = ("tutorial_seq2seq",)  # the presets this section runs (overrides are checked with each)

# (label, largest operand, problems per measurement: full, tiny)
TARGET = 100  # speed-up over the tutorial's loops on the tutorial's problem that addexp aims for
CASES = (
    ("the tutorial's: 2 terms in 1..10", 10, 100_000, 2_000),
    ("3-digit operands: 2 terms in 1..999", 999, 100_000, 2_000),
    ("50-digit operands: 2 terms in 1..10^50-1", 10**50 - 1, 10_000, 200),
)


def run(settings: Settings) -> Section:
    """Problems per second of both paths for every case, alternating, medians of repeats."""
    from addexp.problems.sampling import sample
    from addexp.training.pipeline import build_pipeline

    rows, speedups, result_rates = [], [], []
    for label, largest, full, tiny in CASES:
        n = settings.size(full, tiny)
        cfg = compose(
            ["experiment=tutorial_seq2seq", f"data.largest={largest}", *settings.extra("data")]
        )
        pipeline = build_pipeline(cfg)
        space, framing = pipeline.space, pipeline.framing
        rng = np.random.default_rng(0)
        shapes = {}

        def addexp(
            _: int, space=space, framing=framing, rng=rng, n=n, shapes=shapes
        ) -> dict[str, float]:
            start = time.perf_counter()
            problems = sample(space, n, rng)
            x, y = framing.inputs(problems), framing.targets(problems)
            seconds = time.perf_counter() - start
            shapes["addexp"] = (x.shape[1:], y.shape[1:])
            return {"rate": n / seconds}

        def tutorial(_: int, largest=largest, n=n, shapes=shapes) -> dict[str, float]:
            start = time.perf_counter()
            x, y = generate_data(n, 2, largest, ALPHABET)
            seconds = time.perf_counter() - start
            shapes["tutorial"] = (x.shape[1:], y.shape[1:])
            return {"rate": n / seconds}

        result = alternate({"tutorial": tutorial, "addexp": addexp}, settings.repeats)
        if shapes["tutorial"] != shapes["addexp"]:
            raise RuntimeError(f"{label}: the two paths lay problems out differently: {shapes}")
        ours, theirs = result["addexp"]["rate"], result["tutorial"]["rate"]
        speedups.append(ours.median / theirs.median)
        result_rates.append((theirs.median, ours.median))
        (q, a) = shapes["addexp"]
        rows.append(
            [
                label,
                f"{n:,}",
                f"{q[0]}x{q[1]} / {a[0]}x{a[1]}",
                theirs.text(",.0f"),
                ours.text(",.0f"),
                f"{speedups[-1]:.0f}x",
            ]
        )
    table = Table(
        [
            "problems",
            "per measurement",
            "question / answer (steps x symbols)",
            "tutorial's loops, problems/s",
            "addexp, problems/s",
            "speed-up (medians)",
        ],
        rows,
    )
    method = (
        "Problems per second from drawing the operands to one-hot questions and answers. "
        "addexp: `addexp.problems.sampling.sample` then the framing's `inputs` and `targets`, "
        "the path a "
        "run takes every epoch; reference: the tutorial's own `generate_data` (random_sum_pairs, "
        "to_string, integer_encode, one_hot_encode: Python loops, as published, in "
        "`addexp/benchmarks/tutorial_data.py`). Same problem space and widths on both sides "
        "(checked); the tutorial's loops end in an int64 array, addexp's in float32, what Keras "
        "is fed."
    )
    labels = ("the tutorial's problem", "3 digits", "50 digits")
    if speedups[0] <= speedups[1] <= speedups[2]:
        trend = "the gap grows with the length of the operands"
    elif speedups[0] >= speedups[1] >= speedups[2]:
        trend = "the gap shrinks with the length of the operands"
    else:
        most, least = labels[speedups.index(max(speedups))], labels[speedups.index(min(speedups))]
        trend = f"the gap is widest at {most} and narrowest at {least}"
    tutorial_run = 30 * 1000  # the tutorial's training data: 30 fresh epochs of 1,000
    first = result_rates[0]  # (tutorial, addexp) problems/s
    meaning = (
        f"addexp prepares data {speedups[0]:.0f}x as fast as the tutorial's loops for the "
        f"tutorial's problem, {speedups[1]:.0f}x at 3 digits and {speedups[2]:.0f}x at 50 "
        f"digits ({trend}; target at least {TARGET}x "
        f"on the tutorial's problem: {'met' if speedups[0] >= TARGET else 'NOT met'}). "
        "The loops pay a Python call per problem, per character and per one-hot entry. "
        "addexp pays a few passes over whole arrays per character column instead: while "
        "operands fit int64 it draws them as arrays, folds a sum column by column and writes "
        "questions and answers straight into character codes (a digit is an integer division, "
        "its place a running count of characters); much of what remains is writing the "
        "float32 one-hot arrays themselves. "
        "Beyond int64 (the 50-digit case) operands are Python integers in object arrays: "
        "drawing, adding and writing them as strings is per element there too, and only "
        "padding, indexing and one-hot stay whole-array. "
        f"For the tutorial's own run ({tutorial_run:,} problems in all) that is "
        f"{tutorial_run / first[0]:.2f} s with the loops against {tutorial_run / first[1]:.3f} s "
        "with addexp, against the training loop the overhead section times: data preparation "
        "is not what limits the tutorial. It matters for large fresh epochs (the memory "
        "section trains on up to a million problems per epoch) and for long operands."
    )
    return Section("data", "Data: sampling, rendering and encoding", method, [table], meaning)
