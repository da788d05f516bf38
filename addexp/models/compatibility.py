"""Can this family read questions written so? The checks of `format` and `encoding` against the
family's framing, asked of the records (`FORMATS`, `FRAMINGS`, the family's capabilities),
never of their names, and of the position hints. A message that offers other families lists
those of the registry that can do what was asked.
"""

from __future__ import annotations

from typing import Any

from addexp.config.checks import ConfigError, at_least, choice
from addexp.framing.encoding import ENCODINGS, FEATURE_ENCODINGS
from addexp.framing.framings import FRAMINGS
from addexp.models import FAMILIES
from addexp.problems.space import ProblemSpace
from addexp.text.formats import FORMATS, PADDINGS


def _models(names: list[str]) -> str:
    """`model=a, b or c`: the families a message offers."""
    listed = ", ".join(names[:-1]) + (f" or {names[-1]}" if len(names) > 1 else names[0])
    return f"model={listed}"


def _families(capable: Any) -> list[str]:
    """Registered families for which `capable(family, framing class)` holds."""
    return [n for n, f in FAMILIES.items() if capable(f, FRAMINGS[f.framing])]


def offered(capable: Any) -> str:
    """`model=a, b or c`: the registered families for which `capable(family, framing class)`
    holds, as a message offers them."""
    return _models(_families(capable))


def check_framing(cfg: Any, family: Any, space: ProblemSpace) -> None:
    """`format`, `encoding` and the training's loss options against what `family`'s framing
    reads. Raises ConfigError naming the first key at fault."""
    framing = FRAMINGS[family.framing]
    choice("format.name", cfg.format.name, list(FORMATS))
    choice("format.padding", cfg.format.padding, list(PADDINGS))
    choice("encoding.name", cfg.encoding.name, list(ENCODINGS))
    if cfg.format.padding == "none" and not cfg.encoding.masking:
        raise ConfigError(
            "format.padding=none leaves variable-length questions to masking; "
            "set encoding.masking=true or choose format.padding from: left, right, per_term."
        )
    _check_format(cfg, family)
    if framing.sums_only:
        _check_sums(cfg, family, framing, space)
    _check_encoding(cfg, family, framing)
    if cfg.train.mask_loss and framing.mask_loss_reason:
        raise ConfigError(
            f"train.mask_loss=true: with model={cfg.model.name} ({framing.name} framing) "
            f"{framing.mask_loss_reason}; set it false (it applies to the seq2seq framing only)."
        )
    if framing.fixed_order:
        for key in ("reverse_input", "reverse_output"):
            if cfg.format[key]:
                raise ConfigError(
                    f"format.{key}=true: format={cfg.format.name} is least significant place "
                    "first by construction; set it false."
                )


def _check_format(cfg: Any, family: Any) -> None:
    """The format is one that the family's framing reads."""
    written = FORMATS[cfg.format.name]
    if family.framing in written.framings:
        return
    readers = _families(lambda f, _: f.framing in written.framings)
    formats = [n for n, f in FORMATS.items() if family.framing in f.framings]
    raise ConfigError(
        f"format={written.name} with model={cfg.model.name}: format={written.name} is read by "
        f"{_models(readers)}, and model={cfg.model.name} reads format={' or '.join(formats)}; "
        "choose a format and a model that go together."
    )


def _not_sums(cfg: Any) -> str:
    """What makes a problem space more than sums, and what to set instead."""
    found, fix = [], []
    if list(cfg.data.operations) != ["+"]:
        found.append(f"data.operations={list(cfg.data.operations)}")
        fix.append("data.operations=[+]")
    if cfg.data.brackets:
        found.append(f"data.brackets={cfg.data.brackets}")
        fix.append("data.brackets=0")
    return f"{' or '.join(found)}. Use {' '.join(fix)}"


def _check_sums(cfg: Any, family: Any, framing: type, space: ProblemSpace) -> None:
    """A framing of sums only: no other operation, no brackets, answers exact."""
    name = cfg.model.name
    if not space.sums_only:
        others = _models(_families(lambda _, k: not k.sums_only))
        raise ConfigError(
            f"model={name} ({framing.name} framing) {framing.sums_only}; it cannot express "
            f"{_not_sums(cfg)}, or {others}."
        )
    largest = space.max_terms * space.max_value
    if framing.exact_below and largest >= framing.exact_below:
        key = "data.largest" if space.mode == "range" else "data.max_digits"
        raise ConfigError(
            f"{key}={cfg.data[key.split('.')[1]]} makes sums of up to {largest}; model={name} "
            f"regresses floats, exact only for sums below 2**53. Use smaller operands or "
            f"{_models(_families(lambda _, k: not k.exact_below))}."
        )


def _check_encoding(cfg: Any, family: Any, framing: type) -> None:
    """The encoding and masking the framing and the family can take."""
    name = cfg.model.name
    if cfg.encoding.name not in framing.encodings:
        raise ConfigError(
            f"encoding.name={cfg.encoding.name}: model={name} ({framing.name} framing) reads "
            f"{framing.reads}, not characters in an encoding of their own. Use "
            f"encoding={' or '.join(framing.encodings)}, or a family that reads characters "
            f"({_models(_families(lambda _, k: len(k.encodings) > 1))})."
        )
    if cfg.encoding.masking and not (framing.masking and family.masks_input):
        maskers = _families(lambda f, k: k.masking and f.masks_input and k.sums_only)
        raise ConfigError(
            f"encoding.masking=true needs a model that can hide padding steps; model={name} "
            f"({framing.name} framing) reads {framing.reads} and hides none. Use "
            f"{_models(maskers)} or encoding.masking=false."
        )


def check_position_hints(cfg: Any, family: Any) -> None:
    """Position hints tag the digits of a format that has them, for a family that reads them,
    as extra features of each step (so not for an embedding's indices); a framing that writes
    its answer step by step tags the place each step writes, which needs the answer least
    significant digit first (whether every question fits the hint range is asked with the rest
    of what a run reads: `addexp.framing.reach`). A config logged before the key existed has
    none."""
    hints = cfg.format.get("position_hints", 0)
    at_least("format.position_hints", hints, 0)
    if not hints:
        return
    key = f"format.position_hints={hints}"
    written = FORMATS[cfg.format.name]
    if not (written.position_hints and family.position_hints):
        readers = _families(lambda f, _: f.position_hints)
        formats = [n for n, f in FORMATS.items() if f.position_hints]
        why = (
            f"model={cfg.model.name} reads {FRAMINGS[family.framing].reads}"
            if written.position_hints
            else f"format={written.name} writes {written.description}"
        )
        raise ConfigError(
            f"{key} tags the digits of format={' or '.join(formats)} questions for "
            f"{_models(readers)}; format={cfg.format.name} with model={cfg.model.name} takes "
            f"none ({why}). Set format.position_hints=0, or use one of those formats and models."
        )
    if cfg.encoding.name not in FEATURE_ENCODINGS:
        raise ConfigError(
            f"{key} appends one-hot hints to each question step's features; "
            f"encoding={cfg.encoding.name} feeds symbol indices, with no room for them. Use "
            f"encoding={' or encoding='.join(FEATURE_ENCODINGS)}, or set format.position_hints=0."
        )
    tags_answer = FRAMINGS[family.framing].writes_end
    if tags_answer and not cfg.format.reverse_output:
        raise ConfigError(
            f"{key} with model={cfg.model.name} gives answer step t the hint of place t, which "
            "needs the answer written least significant digit first: set "
            "format.reverse_output=true, or format.position_hints=0."
        )
