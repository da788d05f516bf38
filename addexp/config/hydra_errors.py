"""Hydra's composition errors (a bad override, an unknown key or option) as one paragraph.

Hydra prints these itself, over several lines and with a hint about `HYDRA_FULL_ERROR`, and exits
with status 1. addexp reports every mistake in a config the same way, in one paragraph with exit
status 2, so `addexp` asks Hydra to raise them (`HYDRA_FULL_ERROR=1`, unless the user set it) and
rewrites them here.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from hydra.errors import HydraException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

# Type internals, links, and Hydra's advice to append a key, which a schema refuses anyway.
DETAIL_LINES = ("reference_type=", "object_type=", "See https://hydra.cc/", "To append to your")


def is_composition_error(error: BaseException) -> bool:
    """Whether `error` is Hydra's or OmegaConf's complaint about the config or an override."""
    return isinstance(error, HydraException | OmegaConfBaseException)


def one_paragraph(error: BaseException) -> str:
    """`error`'s message and its OmegaConf cause as one line: Hydra's lists of available options
    joined by commas, the key OmegaConf names kept, type internals and the config search path
    left out. Example: "Error merging override train.epochs=2.5: Value '2.5' of type 'float'
    could not be converted to Integer (key train.epochs)."
    """
    texts = [str(error)]
    override = getattr(error, "override", None)  # a parse error names its override apart
    if isinstance(override, str) and override not in texts[0]:
        texts[0] = f"override {override!r}: {texts[0]}"
    cause = error.__cause__ or error.__context__
    if isinstance(cause, OmegaConfBaseException) and str(cause).splitlines()[0] not in texts[0]:
        texts.append(str(cause))
    sentences: list[str] = []
    options: list[str] = []
    for raw in "\n".join(texts).splitlines():
        line = raw.strip()
        if line == "Config search path:":
            break
        if not line or line.startswith(DETAIL_LINES):
            continue
        if raw.startswith("\t"):  # one of Hydra's "Available options" lines
            options.append(line)
            continue
        if options:
            sentences[-1] += " " + ", ".join(options) + "."
            options = []
        if line.startswith("full_key:"):
            sentences[-1] = sentences[-1].rstrip(".") + f" (key {line.split(':', 1)[1].strip()})."
            continue
        sentences.append(line if line.endswith((".", ":")) else line + ".")
    if options:
        sentences[-1] += " " + ", ".join(options) + "."
    if isinstance(cause, OmegaConfBaseException):
        sentences += _allowed(cause)
    return " ".join(sentences).replace(":.", ":")


def _allowed(cause: OmegaConfBaseException) -> list[str]:
    """What the config allows where OmegaConf refused: the keys of the section an unknown key
    was set in (and the closest, if one is close), or the values of a boolean."""
    if isinstance(cause, ConfigKeyError | ConfigAttributeError):
        section = getattr(cause, "parent_node", None)
        key = getattr(cause, "key", None)
        if section is None or key is None:
            return []
        keys = [str(k) for k in section]
        path = str(getattr(cause, "full_key", key)).rpartition(".")[0] or "the config"
        name = section.get("name") if "name" in keys else None
        where = f"{path} ({name})" if isinstance(name, str) else path
        said = [f"The keys of {where}: {', '.join(keys)}."]
        close = difflib.get_close_matches(str(key), keys, n=1)
        if close:
            said.append(
                f"Did you mean {close[0] if path == 'the config' else f'{path}.{close[0]}'}?"
            )
        return said
    if "not a valid bool" in str(cause):
        return ["It must be true or false."]
    return []


def preset_advice(error: BaseException, overrides: list[str], conf: Path) -> str:
    """For a key a preset sets that the group option chosen beside it lacks, what to choose
    instead (`addexp.config.presets.clash`); "" for any other error."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from addexp.config.presets import clash

    preset = re.search(r"In 'experiment/([^']+)'", str(error))
    cause = error.__cause__ or error.__context__
    key = str(getattr(cause, "full_key", "") or "")
    if preset is None or "." not in key:
        return ""
    group, missing = key.split(".", 1)
    try:
        parsed = OverridesParser.create().parse_overrides(
            [o for o in overrides if not o.startswith("-")]  # -m, --multirun, -cd ...
        )
    except HydraException:
        return ""
    chosen = [o for o in parsed if o.key_or_group == group and not o.package]
    if not chosen:
        return ""
    last = chosen[-1]
    options = _options(last, sorted(p.stem for p in (conf / group).glob("*.yaml")))
    section = getattr(cause, "parent_node", None)
    failed = section.get("name") if section is not None and "name" in section else None
    options = [failed] if failed in options else options  # the job that did not compose
    said = (clash(conf, preset.group(1), group, str(option), missing) for option in options)
    return " ".join(dict.fromkeys(filter(None, said)))


def _options(override, available: list[str]) -> list[str]:
    """The options a group override picks: one (`model=attention`), a list (`model=a,b`,
    `choice(a,b)`), or those of `available` that a `glob(...)` matches."""
    from hydra.core.override_parser.types import Glob

    value = override.value()
    if isinstance(value, Glob):
        return value.filter(available)
    if override.is_sweep_override():
        return list(override.sweep_string_iterator())
    return [str(value)]
