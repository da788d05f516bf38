"""Curricula over operand length (Zaremba & Sutskever 2014, "Learning to Execute", section 4):
the operand lengths of each epoch's training examples, and when the length grows.

An example of operand length L has every operand drawn with a digit count of L, then uniform
digits (leading zeros allowed, as `data.operands=digits` draws), so each operand is uniform in
[0, 10**L): the paper's numbers of length L. `train.curriculum.name`:

- `none` (no `Curriculum`): every operand's digit count uniform in `data.min_digits..
  data.max_digits` on its own, as the training space draws it.
- `naive`: every example at the schedule's current length, which starts at `start` and grows
  by `step` after each epoch whose monitored metric reaches `threshold`, up to `data.max_digits`.
- `mix`: each example's length uniform in `data.min_digits..data.max_digits`.
- `combined`: each example drawn as `mix` draws it with probability `mix_fraction`, otherwise at
  naive's current length. The paper takes each example from either strategy without saying
  how often; its authors' code (`blend` in learning_to_execute's utils/strategies.lua) takes
  mix for one example in five, the default here.

The schedule (`Curriculum.schedule`) is a pure function of the monitored values of the epochs
so far, so an epoch's data are a pure function of the seed, the epoch, the chunk and the
length the schedule gives that epoch (`Stage`), and a resumed run recomputes the schedule from
its checkpoint's history (`Progression.restored`). The length grows on a threshold only; the
authors' code also grows it when training accuracy stops improving, which is not done here.

The fixed regime keeps its set, the same rows as without a curriculum. An epoch feeds as many
rows as the set holds: each slot's length is drawn as an example's is (`Stage.example_lengths`)
and filled with rows no longer than it (those a draw at that length can give; at least the
shortest rows the set has), each in a random order, repeated when the slots outnumber them
(`fixed_order`). The text layout is the whole training space's either way (shorter operands
are padded), so a model trained with a curriculum reads the whole range. NumPy only.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from addexp.problems.sampling import sample
from addexp.problems.space import Problems, ProblemSpace, operand_digits

CURRICULA = ("none", "naive", "mix", "combined")
ADAPTIVE = ("naive", "combined")  # the curricula whose length follows the monitored metric
PROBE_METRIC = "curriculum/exact_match"  # exact match at the current length (`probe` problems)
LENGTH_METRIC = "curriculum/length"  # the schedule's length in an epoch
ADVANCED_METRIC = "curriculum/advanced"  # 1 after an epoch that made the length grow, else 0


def monitors(regime: str, validation: bool, accuracy: bool) -> list[str]:
    """The per-epoch metrics `train.curriculum.monitor` may name: the exact match at the
    current length, the training accuracy (when the framing records one: `accuracy`) and, in
    the fixed regime with a validation split, its accuracy and exact match (over the whole
    split, every length: they rarely reach a threshold while the length is short)."""
    named = [PROBE_METRIC, *(["train/accuracy"] if accuracy else [])]
    if regime == "fixed" and validation:
        named += [*(["val/accuracy"] if accuracy else []), "val/exact_match"]
    return named


@dataclass(frozen=True)
class Schedule:
    """The operand length of every epoch so far and of the next: `lengths` (epochs + 1,)."""

    lengths: np.ndarray

    @property
    def advanced(self) -> np.ndarray:
        """(epochs,) bool: the length grew after each epoch (the threshold events)."""
        return np.diff(self.lengths) > 0

    @property
    def current(self) -> int:
        """The length of the next epoch."""
        return int(self.lengths[-1])

    def describe(self) -> str:
        """The lengths of the epochs trained, each with the epoch (from 1) it started at:
        "1 from epoch 1, 2 from epoch 4"; "" before any epoch."""
        trained = self.lengths[:-1]
        starts = np.flatnonzero(np.diff(trained, prepend=-1) != 0)
        return ", ".join(f"{trained[e]} from epoch {e + 1}" for e in starts)


@dataclass(frozen=True)
class Curriculum:
    """A curriculum over operand length (module docstring): `name` (naive, mix, combined),
    the training space's shortest and longest operand lengths (digits), naive's `start`
    length and `step`, the `monitor`ed per-epoch metric and its `threshold`, the `probe` size
    and combined's `mix_fraction`."""

    name: str
    shortest: int
    longest: int
    start: int
    step: int = 1
    monitor: str = PROBE_METRIC
    threshold: float = 0.9
    probe: int = 500
    mix_fraction: float = 0.2

    @property
    def adaptive(self) -> bool:
        """The length follows the monitored metric (naive, combined); mix has one throughout."""
        return self.name in ADAPTIVE

    def schedule(self, monitored: Sequence[float]) -> Schedule:
        """The schedule after epochs whose monitored values were `monitored`, in order: naive
        and combined start at `start` and grow by `step` after every epoch whose value is >=
        `threshold` (NaN never is), never beyond `longest`; mix stays at `longest`."""
        values = np.asarray(monitored, dtype=float)
        if not self.adaptive:
            return Schedule(np.full(len(values) + 1, self.longest))
        passed = np.concatenate([[0], np.cumsum(values >= self.threshold)])
        return Schedule(np.minimum(self.start + self.step * passed, self.longest))


@dataclass(frozen=True)
class Stage:
    """What one epoch trains on: its `curriculum` at the schedule's `length` for that epoch."""

    curriculum: Curriculum
    length: int

    def example_lengths(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n,) operand lengths of n examples, drawn from `rng`: naive's all `length`; mix's
        uniform in shortest..longest; combined's each mix's with probability `mix_fraction`
        (both draws made for every example, so the stream advances alike), else `length`."""
        c = self.curriculum
        if c.name == "naive":
            return np.full(n, self.length, dtype=np.int64)
        mixed = rng.integers(c.shortest, c.longest, size=n, endpoint=True)
        if c.name == "mix":
            return mixed
        return np.where(rng.random(n) < c.mix_fraction, mixed, self.length)


def from_config(train_cfg: Any, space: ProblemSpace) -> Curriculum | None:
    """The curriculum of a (validated) `train` section over the training `space`; None for
    `none`, and for runs logged before curricula existed (no `train.curriculum`)."""
    c = train_cfg.get("curriculum")
    if c is None or c.name == "none":
        return None
    start = space.min_digits if c.start is None else int(c.start)
    return Curriculum(
        str(c.name),
        space.min_digits,
        space.max_digits,
        start,
        int(c.step),
        str(c.monitor),
        float(c.threshold),
        int(c.probe),
        float(c.mix_fraction),
    )


def problem_lengths(problems: Problems) -> np.ndarray:
    """(n,) the operand length of each problem: the digits of its widest operand (the shortest
    length a draw of `sample_at_lengths` could give it at)."""
    return operand_digits(problems).max(axis=1)


def sample_at_lengths(
    space: ProblemSpace,
    lengths: np.ndarray,
    rng: np.random.Generator,
    exclude: np.ndarray | None = None,
) -> Problems:
    """(n,) problems of the digits `space`, problem i with every operand of operand length
    `lengths[i]` (module docstring); the lengths are drawn shortest first, each with
    `sampling.sample` (questions in `exclude` redrawn), from `rng`."""
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    values, counts = np.unique(lengths[order], return_counts=True)
    parts = [
        sample(space.with_changes(min_digits=int(v), max_digits=int(v)), int(k), rng, exclude)
        for v, k in zip(values, counts, strict=True)
    ]
    drawn = parts[0] if len(parts) == 1 else Problems.concat(parts)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return drawn.take(back)


def fixed_order(stage: Stage, row_lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n,) the rows of a fixed set of n rows of `row_lengths` (`problem_lengths`) that an epoch
    at `stage` feeds, in order: each slot's length drawn by `stage.example_lengths`, then for
    each length L, shortest first, the rows of length <= L (at least the set's shortest) in a
    random order from `rng`, repeated as often as the slots of L need."""
    n = len(row_lengths)
    slots = stage.example_lengths(n, rng)
    order = np.empty(n, dtype=np.int64)
    shortest = int(row_lengths.min())
    for length in np.unique(slots):
        allowed = np.flatnonzero(row_lengths <= max(int(length), shortest))
        where = np.flatnonzero(slots == length)
        order[where] = np.resize(rng.permutation(allowed), len(where))
    return order


class Progression:
    """A curriculum's schedule as training goes: each epoch's monitored value is recorded as
    the epoch ends (`record`), and the `stage` of every epoch so far and of the next follows.
    Data threads read stages while the main thread records (the schedule is replaced whole)."""

    def __init__(self, curriculum: Curriculum, monitored: Sequence[float] = ()):
        self.curriculum = curriculum
        self._monitored = [float(v) for v in monitored]
        self._schedule = curriculum.schedule(self._monitored)
        self._lock = threading.Lock()

    @classmethod
    def restored(cls, curriculum: Curriculum, history: list[dict[str, float]]) -> Progression:
        """The progression after the epochs of a checkpoint's `history` (one dict of metrics
        per epoch): recomputed from their monitored values. Raises ValueError when the lengths
        the history recorded (`LENGTH_METRIC`) are not those."""
        progression = cls(curriculum, [e.get(curriculum.monitor, math.nan) for e in history])
        lengths = progression.schedule.lengths
        for epoch, metrics in enumerate(history):
            if LENGTH_METRIC in metrics and metrics[LENGTH_METRIC] != lengths[epoch]:
                raise ValueError(
                    f"the checkpoint's epoch {epoch + 1} trained at operand length "
                    f"{metrics[LENGTH_METRIC]:g}, but its monitored values give "
                    f"{lengths[epoch]} under this curriculum"
                )
        return progression

    @property
    def schedule(self) -> Schedule:
        return self._schedule

    def knows(self, epochs: int) -> bool:
        """Whether the stages of the first `epochs` epochs are known (mix's always are)."""
        return not self.curriculum.adaptive or len(self._schedule.lengths) >= epochs

    def describe(self) -> str:
        """The schedule in words, as the run records it (`curriculum.schedule`): the lengths
        trained and the epochs they started at, with combined's mixed share; mix's range."""
        c = self.curriculum
        lengths = f"{c.shortest}..{c.longest}"
        if not c.adaptive:
            return f"every length of {lengths} mixed"
        told = self._schedule.describe()
        return told if c.name == "naive" else f"{told}; a {c.mix_fraction:g} share mixed, {lengths}"

    def stage(self, epoch: int) -> Stage:
        """Epoch `epoch`'s stage (from 0). Raises IndexError for an epoch beyond the next one
        of a schedule that follows the monitor (mix has the same stage at every epoch)."""
        c = self.curriculum
        length = self._schedule.lengths[epoch] if c.adaptive else c.longest
        return Stage(c, int(length))

    def record(self, epoch: int, metrics: dict[str, float]) -> dict[str, float]:
        """Epoch `epoch` ended with `metrics` (the monitored one NaN if absent): its value is
        recorded; returns the epoch's curriculum metrics, `LENGTH_METRIC` and
        `ADVANCED_METRIC`. Raises ValueError unless `epoch` is the next one unrecorded."""
        with self._lock:
            if epoch != len(self._monitored):
                raise ValueError(f"epoch {epoch} recorded after {len(self._monitored)} epochs")
            self._monitored.append(float(metrics.get(self.curriculum.monitor, math.nan)))
            self._schedule = self.curriculum.schedule(self._monitored)
        lengths = self._schedule.lengths
        return {
            LENGTH_METRIC: float(lengths[epoch]),
            ADVANCED_METRIC: float(lengths[epoch + 1] > lengths[epoch]),
        }
