"""Questions typed by a person ("12+50", "(3-12)*4") read into problems with exact answers.

Python's own parser (`ast`) reads the structure, so precedence, brackets and floor division
mean exactly what they mean in the sampled problems; the operators read are those of the
operation table (`OPERATIONS`, plugins included). This module says only whether a text is a
question at all and what its exact answer is; whether a given run can read it (its symbols,
operations, terms, widths) is the one rule of `addexp.framing.reach`, asked by the caller.
A text that is no question raises `QuestionError` with one line naming it and what is wrong.
This is the user-input path, one question at a time, not a per-example hot path.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np

from addexp.problems.operations import OPERATIONS, Operation
from addexp.problems.space import MISSING, SLOT, Problems

_OPERAND = re.compile(r"\d+")


class QuestionError(ValueError):
    """A question the run cannot take: one line, naming the question."""


@dataclass(frozen=True)
class Question:
    """One typed question read: its `operands` in order, its `template` (SLOT per operand,
    brackets as typed) and its exact `value`."""

    operands: list[int]
    template: str
    value: int


def _table() -> dict[type[ast.operator], Operation]:
    return {op.ast_op: op for op in OPERATIONS.values()}


def _known() -> str:
    """Every operator of the table, for messages."""
    return " ".join(OPERATIONS)


def _value(node: ast.expr, question: str, text: str) -> int:
    """Exact value of a parsed expression of non-negative integers and the table's operators
    (`text`: the question as parsed, for naming an operator outside the table)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp):
        operation = _table().get(type(node.op))
        if operation is None:
            typed = text[node.left.end_col_offset : node.right.col_offset].strip("()")
            raise QuestionError(
                f"question {question!r}: {typed!r} is not an operator addexp knows ({_known()})."
            )
        left, right = _value(node.left, question, text), _value(node.right, question, text)
        value, undefined = operation.apply(
            np.array([left], dtype=object), np.array([right], dtype=object)
        )
        if undefined[0]:
            raise QuestionError(f"question {question!r} divides by zero.")
        return int(value[0])
    if isinstance(node, ast.UnaryOp):
        raise QuestionError(
            f"question {question!r} is malformed: a sign or operator has no left operand "
            "(write each operand as a plain non-negative integer, e.g. 12+3)."
        )
    raise QuestionError(f"question {question!r} is malformed: only integers and operators.")


def _check_characters(question: str, text: str) -> None:
    """Digits, brackets and the table's operator characters only; raises QuestionError."""
    readable = set("0123456789()") | {c for name in OPERATIONS for c in name}
    unknown = sorted(set(text) - readable)
    if unknown:
        raise QuestionError(
            f"question {question!r} holds {''.join(unknown)!r}: a question is written with "
            f"digits, brackets and the operators {_known()}."
        )


def parse_question(question: str) -> Question:
    """One typed question (spaces between tokens allowed) read exactly. Raises QuestionError
    for a text that is no question: empty, unknown characters, no number, a leading zero,
    malformed, an operator outside the table, or a division by zero."""
    text = question.strip()
    if not text:
        raise QuestionError("an empty question: type one such as 12+50.")
    if re.search(r"\d\s+\d", text):
        raise QuestionError(f"question {question!r} has digits separated by a space.")
    text = re.sub(r"\s+", "", text)
    _check_characters(question, text)
    operands = _OPERAND.findall(text)
    if not operands:
        raise QuestionError(f"question {question!r} holds no number.")
    for operand in operands:
        if len(operand) > 1 and operand.startswith("0"):
            raise QuestionError(
                f"question {question!r}: the operand {operand!r} has a leading zero; write "
                f"{int(operand)}."
            )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise QuestionError(
            f"question {question!r} is malformed: not an expression such as 12+50 or (3-1)*4."
        ) from None
    value = _value(tree.body, question, text)
    return Question([int(o) for o in operands], _OPERAND.sub(SLOT, text), value)


def parse_questions(questions: list[str]) -> Problems:
    """Problems for typed questions, in order: operands (n, most terms) padded with MISSING,
    templates as typed (brackets kept), exact values. Raises QuestionError on the first text
    that is no question (`parse_question`)."""
    parsed = [parse_question(q) for q in questions]
    terms = max((len(p.operands) for p in parsed), default=1)
    rows = [p.operands + [MISSING] * (terms - len(p.operands)) for p in parsed]
    big = any(abs(v) >= 2**62 for row in rows for v in row) or any(
        abs(p.value) >= 2**62 for p in parsed
    )
    dtype = object if big else np.int64
    operands = np.array(rows, dtype=dtype).reshape(len(parsed), terms)
    templates = np.array([p.template for p in parsed], dtype=str)
    targets = np.array([p.value for p in parsed], dtype=dtype)
    return Problems(operands, templates, targets)
