"""What a run can read: the one rule of whether questions fit a trained layout.

A question fits a layout when the layout's alphabet holds its symbols and its answer's (for a
framing that reads and writes the run's alphabet), its fixed input slots (if any) hold its
terms, it is a sum where the framing represents nothing else, its question and answer fit the
layout's widths as the run writes them, the position hints (if any) tag every place it
needs, and the model reads a layout that wide (`ModelFamily.reach`, where a family has limits of
its own). The rule is asked of a whole problem space before anything is drawn (`space_demands`:
the config's checks, `addexp-eval`) and of typed questions row by row (`row_demands`:
`addexp-predict`); both measure a `Demand` and hand it to `refusal`, so a set is refused for
exactly the kind a question drawn from it would be. Kinds are tried in the order of `KINDS`;
callers name the set or question and word the remedy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from addexp.framing.base import END, START, alphabet_for
from addexp.framing.layouts import Layouts, widest_layouts
from addexp.problems.space import Problems, ProblemSpace, operand_digits
from addexp.text.formats import question_width

KINDS = (
    "symbols",
    "terms",
    "operations",
    "question_width",
    "answer_width",
    "position_hints",
    "model",
)
SUM_SYMBOLS = frozenset("0123456789+")


@dataclass(frozen=True)
class Demand:
    """What questions ask of a layout: their `symbols` (question and answer), most `terms`,
    whether all are `sums`, the longest question and answer as the run writes them
    (characters), and the digits of the widest operand. `many`: the demand of a set of
    questions (messages say "up to"), not of one."""

    symbols: frozenset[str]
    terms: int
    sums: bool
    question_length: int
    answer_length: int
    digits: int
    many: bool = True


@dataclass(frozen=True)
class Refusal:
    """Why questions do not fit: one of `KINDS`, how much they need (for picking the worst of
    one kind) and a clause that completes a sentence naming them."""

    kind: str
    need: int
    clause: str


def hints_needed(layout: Any, demand: Demand) -> int:
    """Position hints the questions need in `layout` (0 for a layout without hints)."""
    return layout.places_for(demand.digits) if layout.position_hints else 0


def refusal(layout: Any, demand: Demand, family: Any = None) -> Refusal | None:
    """The first kind (in `KINDS` order) of which `demand` does not fit `layout`, or None;
    `family` (bound to the run's model config, `addexp.models.bind`): the model's own reach."""
    fmt = layout.text_format
    if layout.alphabet_bound:
        unseen = demand.symbols - set(layout.alphabet.symbols)
        if unseen:
            shown = "".join(sorted(set(layout.alphabet.symbols) - {START, END}))
            return Refusal(
                "symbols",
                len(unseen),
                f"needs the symbols {''.join(sorted(unseen))!r}, which the training space "
                f"never shows (the run's alphabet is {shown!r})",
            )
    slots = layout.input_slots
    if slots is not None and demand.terms > slots:
        held = "questions of up to " if demand.many else ""
        return Refusal(
            "terms",
            demand.terms,
            f"has {held}{demand.terms} terms; the run reads at most {slots} terms (one input "
            "slot each)",
        )
    if layout.sums_only and not demand.sums:
        return Refusal(
            "operations",
            1,
            f"asks more than sums; the run {layout.sums_only} and represents nothing else",
        )
    if demand.question_length > fmt.question_width:
        written = (
            f"has questions of up to {demand.question_length} characters as the run writes them"
            if demand.many
            else f"is {demand.question_length} characters as the run writes it"
        )
        return Refusal(
            "question_width",
            demand.question_length,
            f"{written}; the run reads at most {fmt.question_width}",
        )
    if demand.answer_length > fmt.answer_width:
        answers = "answers of up to" if demand.many else "an answer of"
        return Refusal(
            "answer_width",
            demand.answer_length,
            f"has {answers} {demand.answer_length} characters; the run writes at most "
            f"{fmt.answer_width}",
        )
    return _hint_refusal(layout, demand) or _model_refusal(layout, family)


def _model_refusal(layout: Any, family: Any) -> Refusal | None:
    """The family's own limit on the layout's widths (`ModelFamily.reach`), if it has one."""
    if family is None or family.reach is None:
        return None
    fmt = layout.text_format
    clause = family.reach(fmt.question_width, fmt.answer_width)
    return None if clause is None else Refusal("model", fmt.question_width, clause)


def _hint_refusal(layout: Any, demand: Demand) -> Refusal | None:
    """Position hints: every place of the widest operand, and every answer step tagged."""
    needed = hints_needed(layout, demand)
    if needed <= layout.position_hints:
        return None
    up_to, operands = ("up to ", "operands of up to") if demand.many else ("", "an operand of")
    steps = layout.tagged_answer_steps
    answers = f"; answers of up to {steps - 1} characters, then END" if steps else ""
    return Refusal(
        "position_hints",
        needed,
        f"needs {up_to}{needed} position hints ({operands} {demand.digits} digits{answers}), "
        f"more than format.position_hints={layout.position_hints} gives",
    )


def worst(refusals: list[Refusal | None]) -> Refusal | None:
    """The refusal to report of several: the earliest kind, then the most needed."""
    found = [r for r in refusals if r is not None]
    return min(found, key=lambda r: (KINDS.index(r.kind), -r.need), default=None)


def space_demands(framing: Any, space: ProblemSpace, any_length: bool) -> list[tuple[Any, Demand]]:
    """(layout, demand) of the widest questions `space` can draw, as `framing` lays them out
    (`widest_layouts`): one pair per term count for a family that reads any length, else one
    for the whole space. A demand is measured on `space` itself (its own operations and
    brackets), so deeper brackets than the layout was made for are refused, not written."""
    symbols = frozenset(alphabet_for(space).symbols)
    pairs = []
    for layout, questions in widest_layouts(framing, space, any_length):
        fmt = layout.text_format
        demand = Demand(
            symbols,
            questions.max_terms,
            questions.sums_only,
            question_width(questions, fmt.operand_width),
            fmt.format.answer_width(questions),
            questions.max_operand_digits,
        )
        pairs.append((layout, demand))
    return pairs


def row_demands(layouts: Layouts, problems: Problems) -> list[tuple[Any, Demand]]:
    """(layout, demand) of every row of `problems`, in order, each in its own layout
    (`layouts`: `layouts_for` the problems): its question as that layout writes it and its
    answer (`problems.targets`) as the run's format writes it."""
    n = len(problems)
    questions = np.empty(n, dtype=object)
    for layout, rows in layouts.groups():
        questions[rows] = problems.take(rows).questions(layout.text_format.operand_width)
    answers = layouts.framings[0].text_format.format.text(problems.targets)
    digits = operand_digits(problems).max(axis=1, initial=0)
    pairs = []
    for i in range(n):
        symbols = frozenset(str(questions[i])) | frozenset(str(answers[i]))
        demand = Demand(
            symbols,
            int(problems.counts[i]),
            symbols <= SUM_SYMBOLS,
            len(questions[i]),
            len(answers[i]),
            int(digits[i]),
            many=False,
        )
        pairs.append((layouts.framings[layouts.group[i]], demand))
    return pairs
