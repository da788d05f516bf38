"""The checks of the problem keys: `data`, and every evaluation set's merged view of them."""

from __future__ import annotations

from typing import Any

from addexp.config.checks import ConfigError, at_least, at_most, choice
from addexp.problems.operations import OPERATIONS

MAX_DIGITS = 1000  # widest operand (decimal digits) a run may draw


def check_problem(prefix: str, d: Any) -> None:
    """The problem keys of `data` (or an evaluation set's merged view of them)."""
    at_least(f"{prefix}terms", d["terms"], 1)
    if d["max_terms"] is not None:
        at_least(f"{prefix}max_terms", d["max_terms"], d["terms"])
    choice(f"{prefix}operands", d["operands"], ["range", "digits"])
    if d["operands"] == "range":
        at_least(f"{prefix}low", d["low"], 0)
        at_least(f"{prefix}largest", d["largest"], max(d["low"], 1))
        at_most(f"{prefix}largest", d["largest"], 10**MAX_DIGITS - 1, f"{MAX_DIGITS} digits")
    else:
        at_least(f"{prefix}min_digits", d["min_digits"], 1)
        at_least(f"{prefix}max_digits", d["max_digits"], d["min_digits"])
        at_most(f"{prefix}max_digits", d["max_digits"], MAX_DIGITS, "the widest operand")
    if not d["operations"]:
        raise ConfigError(
            f"{prefix}operations is empty; give a list drawn from: {', '.join(OPERATIONS)}."
        )
    for op in d["operations"]:
        choice(f"{prefix}operations", op, list(OPERATIONS))
    if len(set(d["operations"])) != len(d["operations"]):
        raise ConfigError(f"{prefix}operations={list(d['operations'])} repeats an operation.")
    weights = d["operation_weights"]
    if weights is not None and (len(weights) != len(d["operations"]) or min(weights) <= 0):
        raise ConfigError(
            f"{prefix}operation_weights={list(weights)} must hold one positive "
            f"weight per operation in {prefix}operations={list(d['operations'])}."
        )
    at_least(f"{prefix}brackets", d["brackets"], 0)
