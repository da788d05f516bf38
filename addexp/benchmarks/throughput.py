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
from dataclasses import dataclass
from typing import Any

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
    """Inputs and targets (one-hot, float32) of `n` problems drawn for `built`'s space."""
    from addexp.problems.sampling import sample

    framing = built.pipeline.framing
    problems = sample(built.pipeline.space, n, np.random.default_rng(0))
    return framing.inputs(problems), framing.targets(problems)


def _fit_seconds(built: Built, x: np.ndarray, y: np.ndarray, batch: int) -> float:
    """Wall seconds of one epoch of `fit` on `x`, `y` at `batch`."""
    start = time.perf_counter()
    built.model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - start


@dataclass(frozen=True)
class Line:
    """A step's time split into `fixed` seconds per step and `per_example` seconds per example."""

    fixed: float
    per_example: float


def _step_ms(batch: int, rate: Stat) -> float:
    """Milliseconds per step of `batch` examples at the median of `rate` (examples/s)."""
    return 1000 * batch / rate.median


def _line(batches: tuple[int, ...], rates: dict[int, Stat]) -> Line:
    """The line through the median step times of the smallest and the largest batch, where each
    of the two is measured best (the fixed cost dominates the smallest step, the per-example
    cost the largest). A least-squares line through every batch would be led by the large steps
    and can put the fixed cost above the smallest step's whole time when the machine is noisy."""
    step_seconds = [_step_ms(batch, rates[batch]) / 1000 for batch in batches]
    small, big = batches[0], batches[-1]
    per_example = (step_seconds[-1] - step_seconds[0]) / (big - small)
    return Line(step_seconds[0] - small * per_example, per_example)


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


@dataclass(frozen=True)
class ModelRates:
    """One model's measurements: `flops`, training FLOPs per example, and per batch size the
    training examples/s of a `fit` call (`rates`)."""

    flops: float
    rates: dict[int, Stat]


@dataclass(frozen=True)
class Throughput:
    """The section's measurements: the batch sizes, whether at the tiny sizes, the ceiling
    (matmul GFLOP/s), per model label (in MODELS order) its rates, and the Keras execution the
    models were compiled with (`jit_compile`, `steps_per_execution`)."""

    batches: tuple[int, ...]
    tiny: bool
    ceiling: Stat
    models: dict[str, ModelRates]
    jit_compile: Any
    steps_per_execution: int

    def share(self, label: str, rate: float) -> float:
        """The fraction of the ceiling's median that `rate` examples/s of model `label` use."""
        return rate * self.models[label].flops / (self.ceiling.median * 1e9)


@dataclass(frozen=True)
class _Prepared:
    """A model ready to be timed: built, traced at every batch size, its arrays (inputs and
    targets of the largest measurement) and training FLOPs per example."""

    built: Built
    x: np.ndarray
    y: np.ndarray
    flops: float


def _prepare(preset: str, settings: Settings, batches: tuple[int, ...]) -> _Prepared:
    """The model of `preset` built by addexp, its arrays, its FLOPs, and one warm-up fit per
    batch size (the train step is traced there, not in a measurement)."""
    built = build([f"experiment={preset}", *settings.extra("throughput")], settings.compile_options)
    x, y = _arrays(built, max(_examples(b, settings.tiny) for b in batches))
    flops = training_flops(built.model, built.pipeline.framing.shapes.input_shape)
    for batch in batches:
        built.model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, verbose=0)
    return _Prepared(built, x, y, flops)


def measure(settings: Settings) -> Throughput:
    """Examples/s of every model at every batch size, alternating with the matmul ceiling."""
    batches = settings.size(BATCHES, TINY_BATCHES)
    prepared = {label: _prepare(preset, settings, batches) for label, preset in MODELS}
    sides = {"ceiling": lambda _: {"gflops": matmul_gflops(repeats=3 if settings.tiny else 10)}}
    for batch in batches:
        n = _examples(batch, settings.tiny)
        for label, model in prepared.items():

            def side(_: int, m=model, x=model.x[:n], y=model.y[:n], b=batch) -> dict[str, float]:
                return {"rate": len(x) / _fit_seconds(m.built, x, y, b)}

            sides[f"{label}@{batch}"] = side
    result = alternate(sides, settings.repeats)
    some = next(iter(prepared.values())).built.model
    return Throughput(
        batches=batches,
        tiny=settings.tiny,
        ceiling=result["ceiling"]["gflops"],
        models={
            label: ModelRates(m.flops, {b: result[f"{label}@{b}"]["rate"] for b in batches})
            for label, m in prepared.items()
        },
        jit_compile=some.jit_compile,
        steps_per_execution=some.steps_per_execution,
    )


def _rate_table(t: Throughput) -> Table:
    """Per model and batch size: examples/s, ms per step, ms of arithmetic and share of the
    ceiling."""
    rows = []
    for label, model in t.models.items():
        for batch in t.batches:
            rate = model.rates[batch]
            share = Stat(tuple(t.share(label, r) for r in rate.values))
            arithmetic_ms = 1000 * batch * model.flops / (t.ceiling.median * 1e9)
            rows.append(
                [
                    label,
                    str(batch),
                    f"{_examples(batch, t.tiny):,}",
                    rate.text(",.0f"),
                    f"{_step_ms(batch, rate):.2f}",
                    f"{arithmetic_ms:.3f}",
                    f"{100 * share.median:.1f}% ({100 * share.low:.1f}-{100 * share.high:.1f})",
                ]
            )
    header = [
        "model",
        "batch",
        "examples per measurement",
        "training examples/s",
        "ms per step",
        "ms of arithmetic per step at the ceiling",
        "share of the ceiling",
    ]
    return Table(header, rows)


def _count_table(t: Throughput) -> Table:
    """Per model: FLOPs per example, the ceiling in GFLOP/s and examples/s, and its line."""
    header = [
        "model",
        "training FLOPs per example",
        "ceiling: matmul GFLOP/s",
        "ceiling: examples/s",
        "line: fixed ms per step",
        "line: µs per example",
        "line: arithmetic GFLOP/s",
    ]
    rows = [
        [
            label,
            f"{model.flops / 1e6:.2f} M",
            t.ceiling.text(".1f"),
            f"{t.ceiling.median * 1e9 / model.flops:,.0f}",
            *_line_cells(_line(t.batches, model.rates), model.flops),
        ]
        for label, model in t.models.items()
    ]
    return Table(header, rows)


def _method(t: Throughput) -> str:
    """The section's method paragraph (Markdown)."""
    return (
        "Training examples per second of `model.fit` on arrays (one call per measurement, "
        "whole batches, no shuffling; the first fit at each batch size, which traces the train "
        "step, is left out; the cost of starting a fit call, tens of milliseconds, is in, "
        "where a run pays it once for all its epochs), for the tutorial's model "
        "(`experiment=tutorial_seq2seq`) and the Keras example's "
        "(`experiment=keras_addition_rnn`), each built and compiled by addexp (Keras "
        f"`jit_compile={t.jit_compile}`, `steps_per_execution={t.steps_per_execution}`: "
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


def _split(t: Throughput) -> str:
    """What the tutorial model's line says about where a step's time goes (Markdown), or NOISY
    when the line has a negative part."""
    line, flops = _line(t.batches, t.models["tutorial"].rates), t.models["tutorial"].flops
    if not (line.per_example > 0 and line.fixed > 0):
        return NOISY
    per_example = max(line.per_example, 1e-12)
    line_share = 100 * flops / per_example / (t.ceiling.median * 1e9)
    far = "well below" if line_share < 50 else "within reach of"
    step = line.fixed + TUTORIAL_BATCH * line.per_example
    return (
        "The line through the step times says where the time goes: a fixed "
        f"{1000 * line.fixed:.2f} ms per step whatever the batch (Keras's train step in Python, "
        "TensorFlow dispatching one small kernel per LSTM time step and gate, the optimizer "
        f"update) plus {1e6 * line.per_example:.1f} µs per example, an arithmetic rate of "
        f"{flops / per_example / 1e9:.1f} GFLOP/s: the recurrent products "
        "are (batch x (inputs + units)) by ((inputs + units) x 4 units) matrices done one time "
        "step after another, smaller and more memory-bound than a 2048 x 2048 matmul: "
        f"{line_share:.0f}% of the ceiling, so large batches of this model stay {far} it. "
        "At the tutorial's own batch size of "
        f"{TUTORIAL_BATCH} the same line predicts {TUTORIAL_BATCH / step:,.0f} examples/s: "
        f"{100 * TUTORIAL_BATCH * line.per_example / step:.0f}% of "
        "each step's time is its cost per example (arithmetic, at the line's rate) and the rest "
        "the fixed cost per step, which is why the tutorial's "
        "run is bound by steps, not by FLOPs, and why fewer, larger steps "
        "(`steps_per_execution`, bigger batches) are what could speed it up."
    )


def _meaning(t: Throughput) -> str:
    """What the numbers say (Markdown): the ceiling, the tutorial's and the Keras example's
    rates against it, the line's split, and the batch sizes slower than a smaller one."""
    small, big = t.batches[0], t.batches[-1]
    tutorial, keras = t.models["tutorial"], t.models["Keras example"]
    rate_small, rate_big = tutorial.rates[small].median, tutorial.rates[big].median
    keras_rates = {b: keras.rates[b].median for b in t.batches}
    keras_best = max(keras_rates, key=keras_rates.get)
    keras_share = 100 * t.share("Keras example", keras_rates[keras_best])
    ceiling = t.ceiling.median
    return (
        f"The ceiling is {ceiling:.0f} GFLOP/s, i.e. "
        f"{ceiling * 1e9 / tutorial.flops:,.0f} training examples/s of the tutorial "
        f"model ({tutorial.flops / 1e6:.2f} MFLOP each). At batch {small} the "
        f"tutorial model trains {rate_small:,.0f} examples/s "
        f"({100 * rate_small * tutorial.flops / ceiling / 1e9:.1f}% of it); at "
        f"batch {big}, {rate_big:,.0f} ({100 * t.share('tutorial', rate_big):.1f}%). The Keras "
        f"example's model ({keras.flops / 1e6:.2f} MFLOP each, LSTMs of 128) is "
        f"fastest at batch {keras_best}: {keras_rates[keras_best]:,.0f} examples/s, "
        f"{keras_share:.0f}% of the ceiling (target at least {TARGET:.0%} at the best batch "
        f"size: {'met' if keras_share >= 100 * TARGET else 'NOT met'}). "
        + _split(t)
        + irregular(
            {
                label: {b: model.rates[b].median for b in t.batches}
                for label, model in t.models.items()
            }
        )
    )


def report(t: Throughput) -> Section:
    """The section: its method, the rate and count tables, and what they mean."""
    tables = [_rate_table(t), _count_table(t)]
    title = "Throughput: training examples per second"
    return Section("throughput", title, _method(t), tables, _meaning(t))


def run(settings: Settings) -> Section:
    """The throughput section, measured in this process."""
    return report(measure(settings))


def _line_cells(fit: Line, flops: float) -> list[str]:
    """Fixed ms per step, µs per example and arithmetic GFLOP/s of a fitted line; '-' for all
    three when the timings could not be split (a negative part: too close, or too noisy)."""
    if fit.fixed < 0 or fit.per_example <= 0:
        return ["-", "-", "-"]
    return [
        f"{1000 * fit.fixed:.2f}",
        f"{1e6 * fit.per_example:.1f}",
        f"{flops / fit.per_example / 1e9:.1f}",
    ]
