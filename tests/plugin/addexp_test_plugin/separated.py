"""A format whose answers have an underscore between their digits: 62 is written "6_2"."""

from __future__ import annotations

import numpy as np

from addexp.text.formats import PAD, Format, parse_integers, render_integers

SEPARATOR = "_"


def text(values: np.ndarray) -> np.ndarray:
    """(n,) exact integers -> (n,) answers with the separator between digits ("-1_2")."""
    plain = render_integers(values).tolist()
    return np.array(
        [s[0] + SEPARATOR.join(s[1:]) if s.startswith("-") else SEPARATOR.join(s) for s in plain]
    )


def read(padded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n,) padded answers -> (values, valid): valid where digits and single separators
    alternate, digit first and last."""
    core = np.strings.strip(padded, PAD)
    digits = np.strings.replace(core, SEPARATOR, "")
    values, valid = parse_integers(digits)
    rewritten = text(values)
    return np.where(valid, values, 0), valid & (rewritten == core)


SEPARATED = Format(
    "separated",
    "the question as typed and its answer with an underscore between digits ('17' -> '1_7')",
    ("seq2seq", "autoregressive"),
    text=text,
    read=read,
    symbols=SEPARATOR,
)
