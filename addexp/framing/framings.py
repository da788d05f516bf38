"""The framings by name (`FRAMINGS`), and the one a run's config and family ask for
(`make_framing`). A framing turns problems into model arrays and model outputs into `Answers`,
and declares what it can take (encodings, masking, operations, term counts) as class attributes
that the checks read."""

from __future__ import annotations

from typing import Any

from addexp.problems.space import ProblemSpace
from addexp.registry import Registry
from addexp.text.formats import (
    FORMATS,
    TextFormat,
)


def make_framing(cfg: Any, family: Any, space: ProblemSpace, eval_spaces: list[ProblemSpace]):
    """The framing `family` needs: text layout from the training space and, unless the family
    reads any length, every evaluation space too (one layout serves them all). A run's config
    logged before `format.position_hints` existed reads as 0 (no hints)."""
    f = cfg.format
    spaces = [space] if family.any_length else [space, *eval_spaces]
    written = FORMATS[f.name]
    text_format = TextFormat.for_spaces(
        spaces, f.padding, f.reverse_input, f.reverse_output, written
    )
    return FRAMINGS[family.framing].configured(cfg, text_format, space, family.any_length)


FRAMINGS: Registry[type] = Registry(
    "framing",
    "addexp.framings",
    type,
    {
        "seq2seq": "addexp.framing.sequence:Seq2SeqFraming",
        "autoregressive": "addexp.framing.sequence:AutoregressiveFraming",
        "aligned": "addexp.framing.aligned:AlignedFraming",
        "mapping": "addexp.framing.mapping:MappingFraming",
    },
)
