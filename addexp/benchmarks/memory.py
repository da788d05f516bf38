"""Memory: peak resident memory of `addexp` against the examples drawn per epoch.

`addexp` trains the tutorial's model in the fresh regime (a new draw every epoch) for 2 epochs
at batch 1024 with `train.examples` = 10,000, 100,000 and 1,000,000; the peak resident memory of
its process tree is sampled by `measure.run_process` (psutil, every 20 ms). The sizes run in
turn within each repeat.
"""

from __future__ import annotations

from addexp.benchmarks.measure import Stat, alternate, console_script, latest_run, run_process
from addexp.benchmarks.report import Section, Table
from addexp.benchmarks.settings import Settings

PRESETS = ("tutorial_seq2seq",)  # the presets this section runs (overrides are checked with each)

SIZES = (10_000, 100_000, 1_000_000)
TINY_SIZES = (1_000, 20_000)  # the larger spans three chunks of the stream
BASE = [
    "experiment=tutorial_seq2seq",
    "train.regime=fresh",
    "train.epochs=2",
    "train.batch_size=1024",
    "eval.show=0",
]
MIB = 2**20
FLAT = 0.10  # a peak that grows by at most this share from the smallest to the largest size


def _encoded_bytes(settings: Settings) -> int:
    """Bytes of one problem's float32 one-hot input and target in this section's config."""
    import math

    from addexp.benchmarks.setup import compose
    from addexp.training.pipeline import build_pipeline

    shapes = build_pipeline(compose([*BASE, *settings.extra("memory")])).framing.shapes
    return 4 * (math.prod(shapes.input_shape) + shapes.output_steps * shapes.output_symbols)


def _plot(sizes: tuple[int, ...], peaks: list[Stat], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    medians = [p.median / MIB for p in peaks]
    below = [(p.median - p.low) / MIB for p in peaks]
    above = [(p.high - p.median) / MIB for p in peaks]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(sizes, medians, yerr=[below, above], marker="o", capsize=4)
    ax.set_xscale("log")
    ax.set_xlabel("train.examples (problems per epoch)")
    ax.set_ylabel("peak resident memory (MiB)")
    ax.set_title("addexp, tutorial model, fresh regime, 2 epochs, batch 1024")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(settings: Settings) -> Section:
    sizes = settings.size(SIZES, TINY_SIZES)
    folder = settings.folder("memory")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    extra = [*settings.size([], ["eval.examples=50"]), *settings.extra("memory")]

    def side(examples: int):
        def once(_: int) -> dict[str, float]:
            command = [
                *console_script("addexp"),
                *BASE,
                f"train.examples={examples}",
                f"tracking.uri={uri}",
                *extra,
            ]
            finished = run_process(command, folder)
            run = latest_run(uri)
            return {
                "peak": finished.peak_rss,
                "process": finished.seconds,
                "train": run.data.metrics["train/seconds"],
            }

        return once

    result = alternate({str(n): side(n) for n in sizes}, settings.repeats)
    peaks = [result[str(n)]["peak"] for n in sizes]
    image = settings.images / "bench_memory.png"
    _plot(sizes, peaks, image)
    rows = [
        [
            f"{n:,}",
            Stat(tuple(v / MIB for v in result[str(n)]["peak"].values)).text(",.0f"),
            result[str(n)]["train"].text(".1f"),
            result[str(n)]["process"].text(".1f"),
        ]
        for n in sizes
    ]
    table = Table(
        ["train.examples", "peak resident memory, MiB", "training loop, s", "whole process, s"],
        rows,
    )
    small, big = peaks[0].median / MIB, peaks[-1].median / MIB
    per_example = (big - small) * MIB / (sizes[-1] - sizes[0])
    method = (
        "`addexp "
        + " ".join(BASE)
        + " train.examples=N` (extra overrides: "
        + (" ".join(extra) or "none")
        + "; a temporary SQLite store), N in turn within each repeat. Peak resident memory: "
        "the largest sum of resident set sizes over the process and its children, sampled "
        "every 20 ms with psutil from start to exit."
    )
    growth = (big - small) / small
    whole = sizes[-1] * _encoded_bytes(settings) / MIB
    reading = (
        f"within {FLAT:.0%} (target: met): the fresh regime streams each epoch in chunks of a "
        "fixed size, drawn in the background while the model trains, so an epoch's problems "
        "are never held at once"
        if abs(growth) <= FLAT
        else f"more than {FLAT:.0%} (target within {FLAT:.0%}: NOT met): memory is not flat in "
        "`train.examples` here"
    )
    meaning = (
        f"From {sizes[0]:,} to {sizes[-1]:,} problems per epoch the peak goes from "
        f"{small:,.0f} MiB to {big:,.0f} MiB ({growth:+.1%}, about {per_example:,.0f} bytes per "
        f"problem drawn for an epoch), {reading}. Holding the {sizes[-1]:,} problems' one-hot "
        f"inputs and targets (float32) at once would take {whole:,.0f} MiB on top of the "
        f"{small:,.0f} MiB of the smallest size, which is the interpreter with TensorFlow, "
        "Keras and MLflow loaded, the model and one chunk."
    )
    return Section(
        "memory",
        "Memory: peak resident memory against problems per epoch",
        method,
        [table],
        meaning,
        images=[("peak memory against train.examples", f"{settings.images_link}/bench_memory.png")],
    )
