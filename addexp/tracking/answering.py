"""Questions typed as text, asked of a trained run's model: the one path from text to answers
that `addexp-predict`, `addexp-eval --file`-style readers and the logged pyfunc model share.

Each question is parsed (`addexp.problems.questions`), checked against everything the run can
take by the one rule of what a run reads (`addexp.framing.reach`: symbols, terms, operations,
widths, position hints) before any model runs, and answered through the same decode step the
run was scored with (`addexp.evaluation.decode`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from addexp.problems.questions import QuestionError
from addexp.problems.space import Problems


def given_answers(answers: list[str], questions: list[str]) -> np.ndarray:
    """Given answers as exact integers; raises QuestionError naming a bad one."""
    values = []
    for question, answer in zip(questions, answers, strict=True):
        try:
            values.append(int(answer.strip()))
        except ValueError:
            raise QuestionError(
                f"question {question!r}: its given answer {answer!r} is not an integer."
            ) from None
    return np.array(values, dtype=object)


def read_problems(
    pipeline: Any, questions: list[str], answers: list[str] | None = None
) -> Problems:
    """The typed questions as the run's problems (targets: the given answers, if any), checked
    against everything the run (`pipeline`, rebuilt from its config) can take. Raises
    QuestionError naming the first text that is no question, else the first question, in the
    order given, that the run cannot take."""
    from addexp.framing.layouts import layouts_for
    from addexp.framing.reach import refusal, row_demands
    from addexp.problems.questions import parse_questions

    problems = parse_questions(questions)
    if answers is not None:
        problems = Problems(
            problems.operands, problems.templates, given_answers(answers, questions)
        )
    layouts = layouts_for(pipeline.framing, problems, pipeline.family.any_length)
    for question, (layout, demand) in zip(questions, row_demands(layouts, problems), strict=True):
        refused = refusal(layout, demand, pipeline.family)
        if refused is not None:
            raise QuestionError(f"question {question!r} {refused.clause}.")
    return problems


def typed(questions: list[str]) -> np.ndarray:
    """The questions as they are read: spaces carry no meaning."""
    return np.array(["".join(q.split()) for q in questions])
