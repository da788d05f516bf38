"""Inference: examples per second of the decode step, and the cold latency of `addexp-predict`.

The decode step is `addexp.evaluation.decode.decode`, the one every run, `addexp-predict` and
`addexp-eval`
answer through, timed in this process on models built by addexp from their presets (untrained:
the work per example does not depend on the weights, as long as the decoder runs every step, see
the method text). The latency is that of a new `addexp-predict` process answering one question
with the model of a real (tiny) run in a temporary store, from process start to exit, against the
floor of any such command: a Python process that imports TensorFlow, Keras and MLflow.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from addexp.benchmarks.measure import alternate, console_script, latest_run, run_process
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
FLOOR = [sys.executable, "-c", "import tensorflow, keras, mlflow"]


def _decode_rates(settings: Settings) -> tuple[list[list[str]], dict[str, float]]:
    from addexp.evaluation.decode import decode
    from addexp.problems.sampling import sample

    n = settings.size(8192, 256)
    sides, medians = {}, {}
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
    rows = []
    for label, _ in CASES:
        rate = result[label]["rate"]
        medians[label] = rate.median
        rows.append([label, f"{n:,}", rate.text(",.0f"), f"{1e6 / rate.median:.1f}"])
    return rows, medians


def _decoder_steps(settings: Settings) -> int:
    """Steps the teacher-forcing decoder runs for a batch: the answer width plus the end symbol."""
    from addexp.benchmarks.setup import compose
    from addexp.training.pipeline import build_pipeline

    overrides = [*CASES[1][1], *settings.extra("inference")]
    return build_pipeline(compose(overrides)).framing.shapes.output_steps


def _trained_run(settings: Settings) -> tuple[str, str]:
    """A tiny real run of the tutorial in a scratch store: (tracking URI, run id)."""
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
    return uri, latest_run(uri).info.run_id


def run(settings: Settings) -> Section:
    rows, medians = _decode_rates(settings)
    uri, run_id = _trained_run(settings)
    predict = [*console_script("addexp-predict"), "--run", run_id, "--uri", uri, QUESTION]
    folder = settings.folder("predict")
    answers = []

    def cold(_: int) -> dict[str, float]:
        finished = run_process(predict, folder)
        answers.append(finished.stdout.strip())
        return {"seconds": finished.seconds}

    latency = alternate(
        {"predict": cold, "floor": lambda _: {"seconds": run_process(FLOOR, folder).seconds}},
        settings.repeats,
    )
    if not all(a.startswith(QUESTION) for a in answers):
        raise RuntimeError(f"addexp-predict did not answer {QUESTION!r}: {answers}")
    decode_table = Table(["decoder", "problems per call", "examples/s", "µs per example"], rows)
    predict_s, floor_s = latency["predict"]["seconds"], latency["floor"]["seconds"]
    latency_table = Table(
        ["process", "seconds from start to exit"],
        [
            [f"`addexp-predict --run RUN --uri URI {QUESTION}`", predict_s.text(".2f")],
            ["`python -c 'import tensorflow, keras, mlflow'`", floor_s.text(".2f")],
        ],
    )
    greedy = medians[CASES[1][0]]
    steps = _decoder_steps(settings)
    method = (
        "Examples per second of `addexp.evaluation.decode.decode` (the decode step of runs, "
        "`addexp-predict` and `addexp-eval`) on models built by addexp from their presets, "
        "untrained, one warm-up call left out; problems in batches of 1024 "
        "(`addexp.evaluation.decode.PREDICT_BATCH`). The seq2seq family answers in one "
        "forward pass; the "
        "teacher-forcing decoder writes one symbol per step for the whole batch (times the "
        "beam), and stops early only when every row of the batch has written its end symbol, "
        "which a batch of 1024 sums of 1-3 digit operands, some of them 4 digits long, never "
        f"does before the last step: trained or not, it runs answer width + 1 = {steps} steps. "
        "Then "
        f"the cold latency of `addexp-predict` answering `{QUESTION}` with the model of a real "
        "run (the tutorial, 1 epoch of 200 problems, in a temporary SQLite store), from "
        "process start to exit, alternating with a bare Python process that imports "
        "TensorFlow, Keras and MLflow."
    )
    meaning = (
        f"The tutorial's model answers "
        f"{medians[CASES[0][0]]:,.0f} problems/s; the teacher-forcing decoder, one model call "
        f"per answer symbol, {greedy:,.0f}/s greedily and "
        f"{medians[CASES[2][0]]:,.0f}/s with a beam of 4 (beam search also runs the greedy "
        "pass, so that a wider beam never answers worse than greedy). A single question costs "
        f"about {predict_s.median:.1f} s from a cold start, of which "
        f"{floor_s.median:.1f} s ({100 * floor_s.median / predict_s.median:.0f}%) is only "
        "starting Python with TensorFlow, Keras and MLflow; the rest is reading the run and its "
        "model from the store and building the inference model. Answering many questions, "
        "give them in one call (`--file`): the start-up is paid once."
    )
    return Section(
        "inference",
        "Inference: decoding and the cold latency of addexp-predict",
        method,
        [decode_table, latency_table],
        meaning,
    )
