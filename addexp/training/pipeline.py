"""From a resolved config to the pieces a run computes with: problem spaces, model family and
framing. Training (`addexp.tracking.runner`) and every reader of a saved run (`addexp-predict`,
`addexp-eval`) build them here, so a logged model is always read with the layout it was
trained with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from addexp.framing.framings import make_framing
from addexp.models import FAMILIES, ModelFamily, bind
from addexp.problems.sampling import sample
from addexp.problems.sets import EvalSet, eval_sets
from addexp.problems.space import Problems, ProblemSpace, question_keys, space_from_config
from addexp.text.formats import Format, render_integers

TRAIN_STREAM, TEST_STREAM, ORDER_STREAM = 0, 1, 3  # independent per seed (2: EVAL_STREAM)
PROBE_STREAM = 4  # a curriculum's probe at each operand length (addexp.training.curriculum)


@dataclass(frozen=True)
class Pipeline:
    """The training space, the evaluation sets, the model family and the framing (layout)."""

    space: ProblemSpace
    sets: tuple[EvalSet, ...]
    family: ModelFamily
    framing: Any


def build_pipeline(cfg: Any) -> Pipeline:
    """Spaces, family and framing of a resolved (and validated) config."""
    space = space_from_config(cfg.data)
    sets = eval_sets(cfg, space)
    family = bind(FAMILIES[cfg.model.name], cfg.model)
    framing = make_framing(cfg, family, space, [s.space for s in sets])
    return Pipeline(space, sets, family, framing)


def draw_test_set(cfg: Any, space: ProblemSpace) -> tuple[Problems, np.ndarray | None]:
    """The test set (a fresh draw from its own stream) and the question keys training must
    leave out (with `eval.disjoint`; else None)."""
    test = sample(space, cfg.eval.examples, np.random.default_rng([cfg.seed, TEST_STREAM]))
    return test, np.unique(question_keys(test)) if cfg.eval.disjoint else None


@dataclass(frozen=True)
class TrainingStreams:
    """What training draws from, each a stream of its own so that no state carries from one
    draw to the next and a resumed run needs none: the fixed regime's set (`data`, one stream
    from its start), the fresh regime's problems chunk by chunk (`chunk(epoch, index)`), the
    order the fixed set is fed in each epoch (`order(epoch)`) and a curriculum's probe at each
    operand length (`probe(length)`)."""

    seed: int
    data: np.random.Generator

    def chunk(self, epoch: int, index: int) -> np.random.Generator:
        """The stream of chunk `index` of epoch `epoch` (fresh regime)."""
        return np.random.default_rng([self.seed, TRAIN_STREAM, epoch, index])

    def order(self, epoch: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, ORDER_STREAM, epoch])

    def probe(self, length: int) -> np.random.Generator:
        """The stream of the problems a curriculum scores at operand length `length`."""
        return np.random.default_rng([self.seed, PROBE_STREAM, length])


def training_streams(cfg: Any) -> TrainingStreams:
    """The training streams of a run's seed, each at its start."""
    return TrainingStreams(cfg.seed, np.random.default_rng([cfg.seed, TRAIN_STREAM]))


def layout(pipeline: Pipeline) -> dict[str, Any]:
    """The text layout a run trained with, as logged (`config/layout.json`). The range of
    position hints is in it only when hints are on, so a run logged before they existed
    reads back with the layout it logged; so does the format of answers that are not plain
    decimals."""
    fmt = pipeline.framing.text_format
    alphabet = getattr(pipeline.framing, "alphabet", None)
    hints = getattr(pipeline.framing, "position_hints", 0)
    return (
        {
            "question_width": fmt.question_width,
            "answer_width": fmt.answer_width,
            "padding": fmt.padding,
            "reverse_input": fmt.reverse_input,
            "reverse_output": fmt.reverse_output,
            "operand_width": fmt.operand_width,
            "alphabet": alphabet.symbols if alphabet is not None else None,
            "any_length": pipeline.family.any_length,
        }
        | ({"position_hints": hints} if hints else {})
        | _answers_written(fmt.format)
    )


def _answers_written(written: Format) -> dict[str, str]:
    """The format that writes the answers, when they are not plain decimals (runs logged
    before formats could write otherwise read back with the layout they logged)."""
    return {} if written.text is render_integers else {"answer_format": written.name}
