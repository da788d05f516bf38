"""An evaluator independent of addexp's code: Python's own parser reads the rendered text."""

from __future__ import annotations

import ast
import operator

OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
}


def evaluate(text: str) -> int:
    """Value of an integer expression such as "(7+10)//3" (spaces ignored), or ValueError."""

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in OPS:
            return OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"not an integer expression: {text!r}")

    return walk(ast.parse(text.strip(), mode="eval").body)
