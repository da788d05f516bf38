"""Throughput: training examples per second of the tutorial's and the Keras example's models
against the arithmetic ceiling of this machine.

Both models are built and compiled by addexp from their presets (`setup.build`) and trained with
`model.fit` on addexp's own arrays, one call per measurement (batches in order, no shuffling, no
validation; a run makes one call for all its epochs, fed by a tf.data stream). The first fit at
every batch size (tracing the train step) is left out. The ceiling is `flops.matmul_gflops`
measured in the same sitting, alternating with the models, divided by `flops.training_flops` of
each model.
"""

from __future__ import annotations

import time

import numpy as np

from addexp.benchmarks.flops import matmul_gflops, training_flops
from addexp.benchmarks.measure import Stat, alternate
from addexp.benchmarks.report import Section, Table
from addexp.benchmarks.settings import Settings
from addexp.benchmarks.setup import Built, build

MODELS = (("tutorial", "tutorial_seq2seq"), ("Keras example", "keras_addition_rnn"))
PRESETS = tuple(preset for _, preset in MODELS)  # overrides are checked with each
BATCHES = (32, 128, 512, 1024, 4096)
TINY_BATCHES = (32, 128)
NOISY = (
    "The step times of the smallest and the largest batch are too close to split into a fixed "
    "cost per step and a cost per example (too few or too noisy measurements)."
)
TARGET = 0.25  # share of the ceiling the Keras example's model aims for at its best batch size
TUTORIAL_BATCH = 10  # the tutorial's own batch size, for the estimate from the line


def _examples(batch: int, tiny: bool) -> int:
    """Examples per measurement: whole batches only (no retrace for a last, smaller batch), at
    least 16 steps so that the cost of starting a `fit` call is spread as in a run's epoch."""
    return 4 * batch if tiny else max(16 * batch, 16_384)


def _arrays(built: Built, n: int) -> tuple[np.ndarray, np.ndarray]:
    from addexp.problems.sampling import sample

    framing = built.pipeline.framing
    problems = sample(built.pipeline.space, n, np.random.default_rng(0))
    return framing.inputs(problems), framing.targets(problems)


def _fit_seconds(built: Built, x: np.ndarray, y: np.ndarray, batch: int) -> float:
    start = time.perf_counter()
    built.model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - start


def _line(batches: tuple[int, ...], step_seconds: list[float]) -> tuple[float, float]:
    """(fixed seconds per step, seconds per example): the line through the step times of the
    smallest and the largest batch, where each of the two is measured best (the fixed cost
    dominates the smallest step, the per-example cost the largest). A least-squares line
    through every batch would be led by the large steps and can put the fixed cost above the
    smallest step's whole time when the machine is noisy."""
    small, big = batches[0], batches[-1]
    per_example = (step_seconds[-1] - step_seconds[0]) / (big - small)
    return step_seconds[0] - small * per_example, per_example


def dips(rates: dict[int, float]) -> list[int]:
    """Batch sizes (in order) whose examples/s fall below those of a smaller batch."""
    sizes = sorted(rates)
    return [b for i, b in enumerate(sizes) if any(rates[a] > rates[b] for a in sizes[:i])]


def irregular(rates: dict[str, dict[int, float]]) -> str:
    """A sentence naming the batch sizes, per model, slower per example than a smaller batch;
    empty when examples/s rise with the batch for every model."""
    found = {label: dips(by_batch) for label, by_batch in rates.items()}
    named = [
        f"the {label} model at batch {', '.join(map(str, b))}" for label, b in found.items() if b
    ]
    if not named:
        return ""
    return (
        f" Examples/s do not rise steadily with the batch size: {' and '.join(named)} "
        "train fewer examples/s (medians) than at a smaller batch, so the line is a summary "
        "of the two ends, not a law for every batch size between."
    )


def run(settings: Settings) -> Section:
    batches = settings.size(BATCHES, TINY_BATCHES)
    models, arrays, flops = {}, {}, {}
    for label, preset in MODELS:
        built = build(
            [f"experiment={preset}", *settings.extra("throughput")], settings.compile_options
        )
        models[label] = built
        arrays[label] = _arrays(built, max(_examples(b, settings.tiny) for b in batches))
        flops[label] = training_flops(built.model, built.pipeline.framing.shapes.input_shape)
        x, y = arrays[label]
        for batch in batches:  # warm-up: the train step is traced here, not in a measurement
            built.model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, verbose=0)

    sides = {"ceiling": lambda _: {"gflops": matmul_gflops(repeats=3 if settings.tiny else 10)}}
    for batch in batches:
        n = _examples(batch, settings.tiny)
        for label in models:
            x, y = arrays[label]

            def side(_: int, label=label, x=x[:n], y=y[:n], batch=batch) -> dict[str, float]:
                return {"rate": len(x) / _fit_seconds(models[label], x, y, batch)}

            sides[f"{label}@{batch}"] = side
    result = alternate(sides, settings.repeats)
    ceiling = result.pop("ceiling")["gflops"]

    rows, fits = [], {}
    for label in models:
        step_times = []
        for batch in batches:
            rate: Stat = result[f"{label}@{batch}"]["rate"]
            share = Stat(tuple(r * flops[label] / (ceiling.median * 1e9) for r in rate.values))
            step_ms = 1000 * batch / rate.median
            arithmetic_ms = 1000 * batch * flops[label] / (ceiling.median * 1e9)
            step_times.append(step_ms / 1000)
            rows.append(
                [
                    label,
                    str(batch),
                    f"{_examples(batch, settings.tiny):,}",
                    rate.text(",.0f"),
                    f"{step_ms:.2f}",
                    f"{arithmetic_ms:.3f}",
                    f"{100 * share.median:.1f}% ({100 * share.low:.1f}-{100 * share.high:.1f})",
                ]
            )
        fits[label] = _line(batches, step_times)
    table = Table(
        [
            "model",
            "batch",
            "examples per measurement",
            "training examples/s",
            "ms per step",
            "ms of arithmetic per step at the ceiling",
            "share of the ceiling",
        ],
        rows,
    )
    counts = Table(
        [
            "model",
            "training FLOPs per example",
            "ceiling: matmul GFLOP/s",
            "ceiling: examples/s",
            "line: fixed ms per step",
            "line: µs per example",
            "line: arithmetic GFLOP/s",
        ],
        [
            [
                label,
                f"{flops[label] / 1e6:.2f} M",
                ceiling.text(".1f"),
                f"{ceiling.median * 1e9 / flops[label]:,.0f}",
                *_line_cells(fits[label], flops[label]),
            ]
            for label in models
        ],
    )
    some = next(iter(models.values())).model
    method = (
        "Training examples per second of `model.fit` on arrays (one call per measurement, "
        "whole batches, no shuffling; the first fit at each batch size, which traces the train "
        "step, is left out; the cost of starting a fit call, tens of milliseconds, is in, "
        "where a run pays it once for all its epochs), for the tutorial's model "
        "(`experiment=tutorial_seq2seq`) and the Keras example's "
        "(`experiment=keras_addition_rnn`), each built and compiled by addexp (Keras "
        f"`jit_compile={some.jit_compile}`, `steps_per_execution={some.steps_per_execution}`: "
        "one batch per call unless the command says otherwise, so that the line below can "
        "split a step), fed addexp's one-hot arrays. The ceiling is the float32 matmul rate of "
        "TensorFlow on all cores (2048 x 2048 products), measured between the model "
        "measurements, divided by the training FLOPs per example counted from the layer sizes: "
        "LSTM 2 x 4 x units x (inputs + units) per step, Dense 2 x inputs x units per "
        "position, times 3 for forward and backward (`addexp/benchmarks/flops.py`). The line "
        "splits a step's time into a fixed cost and a cost per example, step time = fixed + "
        "batch x per example, through the median step times of the smallest and the largest "
        "batch (the fixed cost shows best in the first, the per-example cost in the second); "
        "its arithmetic rate is FLOPs per example / cost per example."
    )
    tut_fixed, tut_per = fits["tutorial"]
    tut_rate_small = result[f"tutorial@{batches[0]}"]["rate"].median
    tut_rate_big = result[f"tutorial@{batches[-1]}"]["rate"].median
    keras_rates = {b: result[f"Keras example@{b}"]["rate"].median for b in batches}
    keras_best = max(keras_rates, key=keras_rates.get)
    keras_share = 100 * keras_rates[keras_best] * flops["Keras example"] / (ceiling.median * 1e9)
    tut_share_big = 100 * tut_rate_big * flops["tutorial"] / (ceiling.median * 1e9)
    line_share = 100 * flops["tutorial"] / max(tut_per, 1e-12) / (ceiling.median * 1e9)
    far = "well below" if line_share < 50 else "within reach of"
    split = (
        "The line through the step times says where the time goes: a fixed "
        f"{1000 * tut_fixed:.2f} ms per step whatever the batch (Keras's train step in Python, "
        "TensorFlow dispatching one small kernel per LSTM time step and gate, the optimizer "
        f"update) plus {1e6 * tut_per:.1f} µs per example, an arithmetic rate of "
        f"{flops['tutorial'] / max(tut_per, 1e-12) / 1e9:.1f} GFLOP/s: the recurrent products "
        "are (batch x (inputs + units)) by ((inputs + units) x 4 units) matrices done one time "
        "step after another, smaller and more memory-bound than a 2048 x 2048 matmul: "
        f"{line_share:.0f}% of the ceiling, so large batches of this model stay {far} it. "
        "At the tutorial's own batch size of "
        f"{TUTORIAL_BATCH} the same line predicts {{rate:,.0f}} examples/s: {{share:.0f}}% of "
        "each step's time is its cost per example (arithmetic, at the line's rate) and the rest "
        "the fixed cost per step, which is why the tutorial's "
        "run is bound by steps, not by FLOPs, and why fewer, larger steps "
        "(`steps_per_execution`, bigger batches) are what could speed it up."
    )
    if tut_per > 0 and tut_fixed > 0:
        step = tut_fixed + TUTORIAL_BATCH * tut_per
        split = split.format(
            rate=TUTORIAL_BATCH / step, share=100 * TUTORIAL_BATCH * tut_per / step
        )
    else:
        split = NOISY
    meaning = (
        f"The ceiling is {ceiling.median:.0f} GFLOP/s, i.e. "
        f"{ceiling.median * 1e9 / flops['tutorial']:,.0f} training examples/s of the tutorial "
        f"model ({flops['tutorial'] / 1e6:.2f} MFLOP each). At batch {batches[0]} the "
        f"tutorial model trains {tut_rate_small:,.0f} examples/s "
        f"({100 * tut_rate_small * flops['tutorial'] / ceiling.median / 1e9:.1f}% of it); at "
        f"batch {batches[-1]}, {tut_rate_big:,.0f} ({tut_share_big:.1f}%). The Keras "
        f"example's model ({flops['Keras example'] / 1e6:.2f} MFLOP each, LSTMs of 128) is "
        f"fastest at batch {keras_best}: {keras_rates[keras_best]:,.0f} examples/s, "
        f"{keras_share:.0f}% of the ceiling (target at least {TARGET:.0%} at the best batch "
        f"size: {'met' if keras_share >= 100 * TARGET else 'NOT met'}). "
        + split
        + irregular(
            {label: {b: result[f"{label}@{b}"]["rate"].median for b in batches} for label in models}
        )
    )
    return Section(
        "throughput", "Throughput: training examples per second", method, [table, counts], meaning
    )


def _line_cells(fit: tuple[float, float], flops: float) -> list[str]:
    """Fixed ms per step, µs per example and arithmetic GFLOP/s of a fitted line; '-' for all
    three when the timings could not be split (a negative part: too close, or too noisy)."""
    fixed, per_example = fit
    if fixed < 0 or per_example <= 0:
        return ["-", "-", "-"]
    return [f"{1000 * fixed:.2f}", f"{1e6 * per_example:.1f}", f"{flops / per_example / 1e9:.1f}"]
