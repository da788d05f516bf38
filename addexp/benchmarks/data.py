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
from dataclasses import dataclass

import numpy as np

from addexp.benchmarks.measure import Stat, alternate
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


@dataclass(frozen=True)
class Case:
    """One problem space measured: its label, problems per measurement, the (steps, symbols)
    of a question and of an answer, and problems/s of the tutorial's loops and of addexp."""

    label: str
    n: int
    question: tuple[int, ...]
    answer: tuple[int, ...]
    tutorial: Stat
    addexp: Stat

    @property
    def speedup(self) -> float:
        """addexp's problems/s over the tutorial's (medians)."""
        return self.addexp.median / self.tutorial.median


def _case(settings: Settings, label: str, largest: int, n: int) -> Case:
    """Both paths on problems of two terms in 1..largest, `n` per measurement, alternating.
    Raises RuntimeError when the two lay problems out in different shapes."""
    from addexp.problems.sampling import sample
    from addexp.training.pipeline import build_pipeline

    cfg = compose(
        ["experiment=tutorial_seq2seq", f"data.largest={largest}", *settings.extra("data")]
    )
    pipeline = build_pipeline(cfg)
    space, framing = pipeline.space, pipeline.framing
    rng = np.random.default_rng(0)
    shapes = {}

    def addexp(_: int) -> dict[str, float]:
        start = time.perf_counter()
        problems = sample(space, n, rng)
        x, y = framing.inputs(problems), framing.targets(problems)
        seconds = time.perf_counter() - start
        shapes["addexp"] = (x.shape[1:], y.shape[1:])
        return {"rate": n / seconds}

    def tutorial(_: int) -> dict[str, float]:
        start = time.perf_counter()
        x, y = generate_data(n, 2, largest, ALPHABET)
        seconds = time.perf_counter() - start
        shapes["tutorial"] = (x.shape[1:], y.shape[1:])
        return {"rate": n / seconds}

    result = alternate({"tutorial": tutorial, "addexp": addexp}, settings.repeats)
    if shapes["tutorial"] != shapes["addexp"]:
        raise RuntimeError(f"{label}: the two paths lay problems out differently: {shapes}")
    question, answer = shapes["addexp"]
    rates = {name: stat["rate"] for name, stat in result.items()}
    return Case(label, n, question, answer, rates["tutorial"], rates["addexp"])


def measure(settings: Settings) -> tuple[Case, ...]:
    """Every case of CASES, in order, at the full or the tiny size."""
    return tuple(
        _case(settings, label, largest, settings.size(full, tiny))
        for label, largest, full, tiny in CASES
    )


def _table(cases: tuple[Case, ...]) -> Table:
    """Per case: problems per measurement, shapes, both rates and the speed-up."""
    rows = [
        [
            case.label,
            f"{case.n:,}",
            f"{case.question[0]}x{case.question[1]} / {case.answer[0]}x{case.answer[1]}",
            case.tutorial.text(",.0f"),
            case.addexp.text(",.0f"),
            f"{case.speedup:.0f}x",
        ]
        for case in cases
    ]
    header = [
        "problems",
        "per measurement",
        "question / answer (steps x symbols)",
        "tutorial's loops, problems/s",
        "addexp, problems/s",
        "speed-up (medians)",
    ]
    return Table(header, rows)


METHOD = (
    "Problems per second from drawing the operands to one-hot questions and answers. "
    "addexp: `addexp.problems.sampling.sample` then the framing's `inputs` and `targets`, "
    "the path a "
    "run takes every epoch; reference: the tutorial's own `generate_data` (random_sum_pairs, "
    "to_string, integer_encode, one_hot_encode: Python loops, as published, in "
    "`addexp/benchmarks/tutorial_data.py`). Same problem space and widths on both sides "
    "(checked); the tutorial's loops end in an int64 array, addexp's in float32, what Keras "
    "is fed."
)


def _trend(speedups: list[float]) -> str:
    """How the speed-up moves with the length of the operands (a clause)."""
    labels = ("the tutorial's problem", "3 digits", "50 digits")
    if speedups[0] <= speedups[1] <= speedups[2]:
        return "the gap grows with the length of the operands"
    if speedups[0] >= speedups[1] >= speedups[2]:
        return "the gap shrinks with the length of the operands"
    most, least = labels[speedups.index(max(speedups))], labels[speedups.index(min(speedups))]
    return f"the gap is widest at {most} and narrowest at {least}"


def _meaning(cases: tuple[Case, ...]) -> str:
    """What the numbers say (Markdown): the speed-ups, why, and what they mean for a run."""
    speedups = [case.speedup for case in cases]
    tutorial_run = 30 * 1000  # the tutorial's training data: 30 fresh epochs of 1,000
    first = cases[0]
    return (
        f"addexp prepares data {speedups[0]:.0f}x as fast as the tutorial's loops for the "
        f"tutorial's problem, {speedups[1]:.0f}x at 3 digits and {speedups[2]:.0f}x at 50 "
        f"digits ({_trend(speedups)}; target at least {TARGET}x "
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
        f"{tutorial_run / first.tutorial.median:.2f} s with the loops against "
        f"{tutorial_run / first.addexp.median:.3f} s "
        "with addexp, against the training loop the overhead section times: data preparation "
        "is not what limits the tutorial. It matters for large fresh epochs (the memory "
        "section trains on up to a million problems per epoch) and for long operands."
    )


def report(cases: tuple[Case, ...]) -> Section:
    """The section: its method, the table of cases, and what it means."""
    title = "Data: sampling, rendering and encoding"
    return Section("data", title, METHOD, [_table(cases)], _meaning(cases))


def run(settings: Settings) -> Section:
    """The data section: problems per second of both paths for every case, alternating,
    medians of repeats."""
    return report(measure(settings))
