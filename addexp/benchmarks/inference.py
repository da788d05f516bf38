"""Inference: examples per second of the decode step, and the cold latency of `addexp-predict`.

The decode step is `addexp.evaluation.decode.decode`, the one every run, `addexp-predict` and
`addexp-eval`
answer through, timed in this process on models built by addexp from their presets (untrained:
the work per example does not depend on the weights, as long as the decoder runs every step, see
the method text). The latency is that of a new `addexp-predict` process answering one question
with the model of a real (tiny) run in a temporary store, from process start to its answer and
to its exit, against the floor of any such command: a Python process that imports TensorFlow,
Keras and MLflow, prints a line and exits as Python does (tearing its modules down).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from addexp.benchmarks.measure import Stat, alternate, console_script, latest_run, run_process
from addexp.benchmarks.report import Section, Table
from addexp.benchmarks.settings import Settings
from addexp.benchmarks.setup import build

PRESETS = ("tutorial_seq2seq", "keras_teacher_forcing")  # overrides are checked with each

CASES = (
    ("seq2seq (tutorial), one forward pass", ["experiment=tutorial_seq2seq"]),
    ("teacher forcing (Keras example), greedy", ["experiment=keras_teacher_forcing"]),
    (
        "teacher forcing (Keras example), beam width 4",
        ["experiment=keras_teacher_forcing", "model.beam_width=4"],
    ),
)
TINY_RUN = ["train.epochs=1", "train.examples=200", "eval.examples=50", "eval.show=0"]
QUESTION = "7+10"
FLOOR = [sys.executable, "-c", "import tensorflow, keras, mlflow; print('imported', flush=True)"]


def _decode_rates(settings: Settings, n: int) -> dict[str, Stat]:
    """Examples/s of the decode step per case label (CASES order), `n` problems per call,
    after one warm-up call that traces it."""
    from addexp.evaluation.decode import decode
    from addexp.problems.sampling import sample

    sides = {}
    for label, overrides in CASES:
        built = build([*overrides, *settings.extra("inference")])
        problems = sample(built.pipeline.space, n, np.random.default_rng(0))
        pipeline = built.pipeline
        decode(built.model, pipeline.family, pipeline.framing, problems)  # warm-up: tracing

        def side(_: int, built=built, problems=problems) -> dict[str, float]:
            p = built.pipeline
            start = time.perf_counter()
            decode(built.model, p.family, p.framing, problems)
            return {"rate": len(problems) / (time.perf_counter() - start)}

        sides[label] = side
    result = alternate(sides, settings.repeats)
    return {label: result[label]["rate"] for label, _ in CASES}


def _decoder_steps(settings: Settings) -> int:
    """Steps the teacher-forcing decoder runs for a batch: the answer width plus the end symbol."""
    from addexp.benchmarks.setup import compose
    from addexp.training.pipeline import build_pipeline

    overrides = [*CASES[1][1], *settings.extra("inference")]
    return build_pipeline(compose(overrides)).framing.shapes.output_steps


@dataclass(frozen=True)
class Stored:
    """A run in a store: its tracking URI and run id."""

    uri: str
    run_id: str


def trained_run(settings: Settings) -> Stored:
    """A tiny real run of the tutorial in a scratch store."""
    folder = settings.folder("inference")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    command = [
        *console_script("addexp"),
        "experiment=tutorial_seq2seq",
        *TINY_RUN,
        f"tracking.uri={uri}",
        *settings.extra("inference"),
    ]
    run_process(command, folder)
    return Stored(uri, latest_run(uri).info.run_id)


@dataclass(frozen=True)
class Latency:
    """Seconds from start to the answer and to the exit of `addexp-predict` answering one
    question (`answer`, `predict`), and from start to the end of the imports and to the exit of
    a bare Python process importing TensorFlow, Keras and MLflow (`imported`, `floor`)."""

    answer: Stat
    predict: Stat
    imported: Stat
    floor: Stat


def _latency(settings: Settings, stored: Stored) -> Latency:
    """Cold `addexp-predict` processes alternating with the floor. Raises RuntimeError when
    addexp-predict does not answer QUESTION."""
    predict = [
        *console_script("addexp-predict"),
        *("--run", stored.run_id, "--uri", stored.uri, QUESTION),
    ]
    folder = settings.folder("predict")
    answers = []

    def timed(command: list[str]) -> dict[str, float]:
        finished = run_process(command, folder)
        if command is predict:
            answers.append(finished.stdout.strip())
        return {"first": finished.first_output, "seconds": finished.seconds}

    latency = alternate(
        {"predict": lambda _: timed(predict), "floor": lambda _: timed(FLOOR)}, settings.repeats
    )
    if not all(a.startswith(QUESTION) for a in answers):
        raise RuntimeError(f"addexp-predict did not answer {QUESTION!r}: {answers}")
    predicted, floor = latency["predict"], latency["floor"]
    return Latency(predicted["first"], predicted["seconds"], floor["first"], floor["seconds"])


@dataclass(frozen=True)
class Inference:
    """The section's measurements: problems per decode call, examples/s per case label, the
    teacher-forcing decoder's steps per batch, and the cold latency."""

    n: int
    rates: dict[str, Stat]
    steps: int
    latency: Latency


def measure(settings: Settings) -> Inference:
    """Decode rates, then a tiny run whose model `addexp-predict` answers with, cold."""
    n = settings.size(8192, 256)
    rates = _decode_rates(settings, n)
    latency = _latency(settings, trained_run(settings))
    return Inference(n, rates, _decoder_steps(settings), latency)


def _tables(m: Inference) -> list[Table]:
    """The decode table (examples/s, µs per example per case) and the latency table."""
    rows = [
        [label, f"{m.n:,}", rate.text(",.0f"), f"{1e6 / rate.median:.1f}"]
        for label, rate in m.rates.items()
    ]
    decode_table = Table(["decoder", "problems per call", "examples/s", "µs per example"], rows)
    latency = m.latency
    latency_table = Table(
        ["process", "seconds to its first line", "seconds to exit"],
        [
            [
                f"`addexp-predict --run RUN --uri URI {QUESTION}` (the line: its answer)",
                latency.answer.text(".2f"),
                latency.predict.text(".2f"),
            ],
            [
                "`python -c 'import tensorflow, keras, mlflow; print(...)'` (the line: imported)",
                latency.imported.text(".2f"),
                latency.floor.text(".2f"),
            ],
        ],
    )
    return [decode_table, latency_table]


def _method(m: Inference) -> str:
    """The section's method paragraph (Markdown)."""
    return (
        "Examples per second of `addexp.evaluation.decode.decode` (the decode step of runs, "
        "`addexp-predict` and `addexp-eval`) on models built by addexp from their presets, "
        "untrained, one warm-up call left out; problems in batches of 1024 "
        "(`addexp.evaluation.decode.PREDICT_BATCH`). The seq2seq family answers in one "
        "forward pass; the "
        "teacher-forcing decoder writes one symbol per step for the whole batch (times the "
        "beam), and stops early only when every row of the batch has written its end symbol, "
        "which a batch of 1024 sums of 1-3 digit operands, some of them 4 digits long, never "
        f"does before the last step: trained or not, it runs answer width + 1 = {m.steps} steps. "
        "Then "
        f"the cold latency of `addexp-predict` answering `{QUESTION}` with the model of a real "
        "run (the tutorial, 1 epoch of 200 problems, in a temporary SQLite store), from "
        "process start to its answer on standard output and to its exit, alternating with a "
        "bare Python process that imports TensorFlow, Keras and MLflow, prints a line and "
        "exits as Python does."
    )


def _meaning(m: Inference) -> str:
    """What the numbers say (Markdown): the decoders' rates and what the cold start costs."""
    latency = m.latency
    answer, imported = latency.answer.median, latency.imported.median
    teardown = latency.floor.median - imported
    return (
        f"The tutorial's model answers "
        f"{m.rates[CASES[0][0]].median:,.0f} problems/s; the teacher-forcing decoder, one model "
        f"call per answer symbol, {m.rates[CASES[1][0]].median:,.0f}/s greedily and "
        f"{m.rates[CASES[2][0]].median:,.0f}/s with a beam of 4 (beam search also runs the greedy "
        "pass, so that a wider beam never answers worse than greedy). A single question is "
        f"answered {answer:.1f} s after a cold start, of which {imported:.1f} s "
        f"({100 * imported / answer:.0f}%) is only importing TensorFlow, Keras and MLflow; the "
        "rest is opening the store, reading the run and its model and building the inference "
        f"model. Python's own exit then tears those modules down for {teardown:.1f} s more; "
        "`addexp-predict` ends "
        f"{latency.predict.median - answer:.2f} s after its answer instead (`addexp.cli.finish`: "
        "the exit hooks run, the tear-down is skipped). Answering many questions, give them "
        "in one call (`--file`): the start-up is paid once."
    )


def report(m: Inference) -> Section:
    """The section: its method, the decode and latency tables, and what they mean."""
    return Section(
        "inference",
        "Inference: decoding and the cold latency of addexp-predict",
        _method(m),
        _tables(m),
        _meaning(m),
    )


def run(settings: Settings) -> Section:
    """The inference section: decoding in this process, `addexp-predict` in child processes."""
    return report(measure(settings))
