"""The one decode step: a trained model and problems in, answers out.

Validation exact match, the test set, every evaluation set, `addexp-predict` and `addexp-eval` all
call `decode`, so what a run logs and what a user gets from a saved model cannot drift apart. A
model family may bring its own decode (`ModelFamily.decode`): a decoder that feeds back its own
output step by step, or a model that writes wider answers than it was trained on; otherwise one
forward pass is read by the framing.

For a family that reads any length, each question is written in a layout of its own
(`addexp.framing.layouts`): its answer depends on it and the model alone, never on the questions
asked
with it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from addexp.framing.base import Answers
from addexp.framing.layouts import Layouts, layouts_for
from addexp.models.forward import forward
from addexp.problems.space import Problems

PREDICT_BATCH = 1024  # examples per forward pass


class _ExpectedRetracing(logging.Filter):
    """Drops TensorFlow's warning that a model's predict function was traced again. Decoding
    calls it with as many batch shapes as the search needs (the rows of a batch, times the
    beam; one layout, then another, for questions of several lengths), each traced once, which
    is what the warning counts; it says nothing a user can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_ExpectedRetracing())


@dataclass(frozen=True)
class Decoded:
    """Answers to a batch of problems (characters padded to the layouts' common width), the
    layout each was written in (`layouts`: its `expected` and `own` are what scoring compares
    with) and how long inference took (seconds of wall time, encoding and decoding included)."""

    answers: Answers
    layouts: Layouts
    seconds: float


def decode(model: Any, family: Any, framing: Any, problems: Problems) -> Decoded:
    """Answer `problems` with `model`.

    For a family that reads any length the rows are grouped by the layout of each row alone
    (`layouts_for`), each group is decoded in its own layout (vectorised within the group) and
    the answers are put back in the original order. Otherwise the framing's own layout must
    already hold them (the run's widths were computed over every space it evaluates), and a
    wider question raises ValueError from the text layout.
    """
    start = time.perf_counter()
    layouts = layouts_for(framing, problems, family.any_length)
    parts = [_decode_one(model, family, f, problems.take(rows)) for f, rows in layouts.groups()]
    answers = layouts.join(parts)
    return Decoded(answers, layouts, time.perf_counter() - start)


def _decode_one(model: Any, family: Any, framing: Any, problems: Problems) -> Answers:
    """Answers to problems that share `framing`'s layout."""
    if family.decode is not None:
        return family.decode(model, framing, problems, PREDICT_BATCH)
    outputs = forward(model, framing.inputs(problems), PREDICT_BATCH)
    return framing.answers(outputs)
