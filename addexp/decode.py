"""The one decode step: a trained model and problems in, answers out.

Validation exact match, the test set, every evaluation set, `addexp-predict` and `addexp-eval` all
call `decode`, so what a run logs and what a user gets from a saved model cannot drift apart. A
model family may bring its own decode (`ModelFamily.decode`): a decoder that feeds back its own
output step by step, or a model that writes wider answers than it was trained on; otherwise one
forward pass is read by the framing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from addexp import faults
from addexp.framings import Answers
from addexp.problems import Problems

PREDICT_BATCH = 1024  # examples per forward pass


@dataclass(frozen=True)
class Decoded:
    """Answers to a batch of problems, the framing (layout) they were written in and how long
    inference took (seconds of wall time, encoding and decoding included)."""

    answers: Answers
    framing: Any
    seconds: float


def decode(model: Any, family: Any, framing: Any, problems: Problems) -> Decoded:
    """Answer `problems` with `model`.

    For a family that reads any length the layout is first widened to fit these questions
    (`framing.fitted`); otherwise the framing's own layout must already hold them (the run's
    widths were computed over every space it evaluates), and a wider question raises
    ValueError from the text layout.
    """
    start = time.perf_counter()
    if family.any_length:
        framing = framing.fitted(problems)
    faults.check()  # inside a run, a signal that waited stops it before and after inference
    if family.decode is not None:
        answers = family.decode(model, framing, problems, PREDICT_BATCH)
    else:
        outputs = model.predict(framing.inputs(problems), batch_size=PREDICT_BATCH, verbose=0)
        answers = framing.answers(outputs)
    faults.check()
    return Decoded(answers, framing, time.perf_counter() - start)
