"""Questions typed by a person ("12+50", "(3-12)*4") read into problems with exact answers.

Python's own parser (`ast`) reads the structure, so precedence, brackets and floor division
mean exactly what they mean in the sampled problems; the operators allowed are those of the
run's operation table. Each question is checked on its own and a question the run cannot take
raises `QuestionError` with one line naming it, what is wrong and what the run accepts. This is
the user-input path, one question at a time, not a per-example hot path.
"""

from __future__ import annotations

import ast
import re

import numpy as np

from addexp.problems.operations import OPERATIONS
from addexp.problems.space import MISSING, SLOT, Problems

_OPERAND = re.compile(r"\d+")


class QuestionError(ValueError):
    """A question the run cannot take: one line, naming the question."""


def _value(node: ast.expr, question: str, operations: tuple[str, ...]) -> int:
    """Exact value of a parsed expression of non-negative integers and the run's operators."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp):
        symbol = {op.ast_op: op.symbol for op in OPERATIONS.values()}.get(type(node.op))
        if symbol not in operations:
            raise QuestionError(
                f"question {question!r}: the operator {symbol or type(node.op).__name__!r} is "
                f"not one of the run's operations ({' '.join(operations)})."
            )
        left = _value(node.left, question, operations)
        right = _value(node.right, question, operations)
        value, undefined = OPERATIONS[symbol].apply(
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


def parse_question(question: str, symbols: str, operations: tuple[str, ...]) -> tuple:
    """(operands, template, exact value) of one typed question. `symbols`: every character the
    run may read (its alphabet, pad included). Raises QuestionError."""
    text = question.strip()
    if not text:
        raise QuestionError("an empty question: type one such as 12+50.")
    if re.search(r"\d\s+\d", text):
        raise QuestionError(f"question {question!r} has digits separated by a space.")
    text = re.sub(r"\s+", "", text)
    unknown = sorted(set(text) - set(symbols))
    if unknown:
        raise QuestionError(
            f"question {question!r} holds {''.join(unknown)!r}, outside the run's alphabet "
            f"{symbols!r}."
        )
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
    value = _value(tree.body, question, operations)
    return [int(o) for o in operands], _OPERAND.sub(SLOT, text), value


def parse_questions(questions: list[str], symbols: str, operations: tuple[str, ...]) -> Problems:
    """Problems for typed questions, in order: operands (n, most terms) padded with MISSING,
    templates as typed (brackets kept), exact values. Raises QuestionError on the first bad one."""
    parsed = [parse_question(q, symbols, operations) for q in questions]
    terms = max((len(p[0]) for p in parsed), default=1)
    rows = [p[0] + [MISSING] * (terms - len(p[0])) for p in parsed]
    big = any(abs(v) >= 2**62 for row in rows for v in row) or any(
        abs(p[2]) >= 2**62 for p in parsed
    )
    dtype = object if big else np.int64
    operands = np.array(rows, dtype=dtype).reshape(len(parsed), terms)
    templates = np.array([p[1] for p in parsed], dtype=str)
    targets = np.array([p[2] for p in parsed], dtype=dtype)
    return Problems(operands, templates, targets)
