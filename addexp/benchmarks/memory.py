"""Memory: peak resident memory of `addexp` against the examples drawn per epoch.

`addexp` trains the tutorial's model in the fresh regime (a new draw every epoch) for 2 epochs
at batch 1024 with `train.examples` = 10,000, 100,000 and 1,000,000; the peak resident memory of
its process tree is sampled by `measure.run_process` (psutil, every 20 ms). The sizes run in
turn within each repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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


def _plot(sizes: tuple[int, ...], peaks: list[Stat], path: Path) -> None:
    """Write the plot of peak memory (MiB, median and range) against problems per epoch."""
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


@dataclass(frozen=True)
class Size:
    """One `train.examples`: the peak resident memory of its process tree (bytes), its
    training-loop and whole-process seconds."""

    examples: int
    peak: Stat
    train: Stat
    process: Stat


@dataclass(frozen=True)
class Memory:
    """The section's measurements: the extra overrides, every size in order, and the bytes of
    one problem's one-hot input and target."""

    extra: tuple[str, ...]
    sizes: tuple[Size, ...]
    encoded_bytes: int


def _side(
    folder: Path, uri: str, examples: int, extra: list[str]
) -> Callable[[int], dict[str, float]]:
    """A side running addexp with `train.examples=examples`: its peak resident bytes, process
    and training seconds for a repeat."""

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


def measure(settings: Settings) -> Memory:
    """Every size in turn within each repeat, into one temporary store."""
    sizes = settings.size(SIZES, TINY_SIZES)
    folder = settings.folder("memory")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    extra = [*settings.size([], ["eval.examples=50"]), *settings.extra("memory")]
    sides = {str(n): _side(folder, uri, n, extra) for n in sizes}
    result = alternate(sides, settings.repeats)
    measured = tuple(
        Size(n, result[str(n)]["peak"], result[str(n)]["train"], result[str(n)]["process"])
        for n in sizes
    )
    return Memory(tuple(extra), measured, _encoded_bytes(settings))


def _table(m: Memory) -> Table:
    """Per size: peak memory in MiB, training-loop and whole-process seconds."""
    rows = [
        [
            f"{size.examples:,}",
            Stat(tuple(v / MIB for v in size.peak.values)).text(",.0f"),
            size.train.text(".1f"),
            size.process.text(".1f"),
        ]
        for size in m.sizes
    ]
    return Table(
        ["train.examples", "peak resident memory, MiB", "training loop, s", "whole process, s"],
        rows,
    )


def _method(m: Memory) -> str:
    """The section's method paragraph (Markdown)."""
    return (
        "`addexp "
        + " ".join(BASE)
        + " train.examples=N` (extra overrides: "
        + (" ".join(m.extra) or "none")
        + "; a temporary SQLite store), N in turn within each repeat. Peak resident memory: "
        "the largest sum of resident set sizes over the process and its children, sampled "
        "every 20 ms with psutil from start to exit."
    )


def _meaning(m: Memory) -> str:
    """What the numbers say (Markdown): how the peak grows with problems per epoch, and what
    holding an epoch at once would take."""
    first, last = m.sizes[0], m.sizes[-1]
    small, big = first.peak.median / MIB, last.peak.median / MIB
    per_example = (big - small) * MIB / (last.examples - first.examples)
    growth = (big - small) / small
    whole = last.examples * m.encoded_bytes / MIB
    reading = (
        f"within {FLAT:.0%} (target: met): the fresh regime streams each epoch in chunks of a "
        "fixed size, drawn in the background while the model trains, so an epoch's problems "
        "are never held at once"
        if abs(growth) <= FLAT
        else f"more than {FLAT:.0%} (target within {FLAT:.0%}: NOT met): memory is not flat in "
        "`train.examples` here"
    )
    return (
        f"From {first.examples:,} to {last.examples:,} problems per epoch the peak goes from "
        f"{small:,.0f} MiB to {big:,.0f} MiB ({growth:+.1%}, about {per_example:,.0f} bytes per "
        f"problem drawn for an epoch), {reading}. Holding the {last.examples:,} problems' one-hot "
        f"inputs and targets (float32) at once would take {whole:,.0f} MiB on top of the "
        f"{small:,.0f} MiB of the smallest size, which is the interpreter with TensorFlow, "
        "Keras and MLflow loaded, the model and one chunk."
    )


def report(m: Memory, settings: Settings) -> Section:
    """The section: its method, table, what it means and the plot (written to
    `settings.images`, linked through `settings.images_link`)."""
    sizes = tuple(size.examples for size in m.sizes)
    _plot(sizes, [size.peak for size in m.sizes], settings.images / "bench_memory.png")
    return Section(
        "memory",
        "Memory: peak resident memory against problems per epoch",
        _method(m),
        [_table(m)],
        _meaning(m),
        images=[("peak memory against train.examples", f"{settings.images_link}/bench_memory.png")],
    )


def run(settings: Settings) -> Section:
    """The memory section: whole addexp processes at every size."""
    return report(measure(settings), settings)
