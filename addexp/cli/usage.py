"""`addexp --help`: what can be typed, each thing said where it is written once. The presets
and each group's options with the first line of their file's header comment; every key of the
composed config with its value and the trailing comment of its schema field
(`addexp.config.notes`); the header and footer from `hydra.help` in `conf/config.yaml`.

The config is composed as the command line would compose it (Hydra's compose API), so
`addexp model=mlp --help` shows the mlp's keys. No TensorFlow, no MLflow: help is immediate.
A command line naming another config (`--config-dir`, `--config-path`, `--config-name`) gets
Hydra's own help, as before; `--hydra-help` is Hydra's.
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any, get_type_hints

from omegaconf import OmegaConf

from addexp.cli.entry import config_dir, register_schemas
from addexp.config.notes import field_notes, header_line, summary
from addexp.config.presets import DEFAULT_PRESET, bases, read_presets, run_preset
from addexp.config.schema import AddexpConfig
from addexp.models import FAMILIES

WIDTH = 100  # columns of the help text
COLUMN = 32  # where descriptions start, at most (a list of short names starts them sooner)
# Groups with no section of their own (`@package _global_`): what choosing one does.
WHOLE_RUN_GROUPS = {
    "experiment": "Presets (experiment=NAME): whole experiments",
    "hparams_search": "Search spaces (hparams_search=NAME): what a sweep (-m) searches",
}


@dataclass(frozen=True)
class Composed:
    """What the help describes: the job's config as composed (`job`, values unresolved unless
    asked), the option chosen in each group (`choices`, Hydra's runtime choices), each
    group's options with their one-line summaries, and `hydra.help`'s header and footer."""

    job: dict[str, Any]
    choices: dict[str, str | None]
    options: dict[str, dict[str, str]]
    header: str
    footer: str


def requested(argv: list[str]) -> argparse.Namespace | None:
    """Hydra's reading of a command line asking for addexp's help (`--help`, `-h`), by Hydra's
    own parser so that both read it alike; None when it does not ask, names another config, or
    does not parse (Hydra then answers it as before)."""
    if not {"-h", "--help"} & set(argv) or "--version" in argv:
        return None
    from hydra._internal.utils import get_args_parser

    args, unknown = get_args_parser().parse_known_args(argv)
    other_config = args.config_dir or args.config_path or args.config_name
    return None if unknown or other_config or not args.help else args


def compose(overrides: list[str], resolve: bool = False) -> Composed:
    """The config `addexp overrides` composes, and each group's options (those on Hydra's
    search path too, a plugin's included) with their summaries."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_schemas()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = hydra_compose("config", overrides=overrides, return_hydra_config=True)
        loader = GlobalHydra.instance().config_loader()
        sources = loader.repository.get_sources()
        options = {
            group: {
                name: _summary(sources, f"{group}/{name}")
                for name in loader.get_group_options(group)
            }
            for group in loader.list_groups("")
            if group != "hydra"
        }
    raw = OmegaConf.to_container(cfg, resolve=False)
    job = {key: _resolved(cfg, key) if resolve else raw[key] for key in raw if key != "hydra"}
    return Composed(
        job=job,
        choices=OmegaConf.to_container(cfg.hydra.runtime.choices),
        options=options,
        header=cfg.hydra.help.header.strip(),
        footer=cfg.hydra.help.footer.strip(),
    )


def _resolved(cfg: Any, key: str) -> Any:
    """The top-level `key` of `cfg` with its interpolations resolved, in the whole config
    (the job's keys only: Hydra's own need a running job, as for Hydra's `--help --resolve`)."""
    value = cfg[key]
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def _summary(sources: list, path: str) -> str:
    """The header line of config `path` ("model/seq2seq") in the first source holding it, as
    Hydra finds it; "" for a config with no file (a schema in the ConfigStore)."""
    for source in sources:
        if source.is_config(path):
            if source.scheme() == "file":
                return header_line((Path(source.path) / f"{path}.yaml").read_text())
            if source.scheme() == "pkg":
                text = resources.files(source.path).joinpath(f"{path}.yaml").read_text()
                return header_line(text)
            return ""
    return ""


def text(composed: Composed) -> str:
    """The whole help: header, presets and searches, each section's options and keys, footer."""
    conf = Path(config_dir())
    blocks = [composed.header, _presets(composed, conf)]
    sections = [key for key, value in composed.job.items() if isinstance(value, dict)]
    others = [g for g in composed.options if g not in sections and g != "experiment"]
    blocks += [_options_block(composed, group) for group in others]
    blocks.append(
        _wrap(
            "Groups and keys: group=OPTION picks an option (* the one this command line "
            "composes); key=VALUE sets a key, shown with its value here (with no arguments, "
            "its default)."
        )
    )
    blocks += [_section(composed, key) for key in composed.job]
    blocks.append(composed.footer)
    return "\n\n".join(block for block in blocks if block) + "\n"


def _presets(composed: Composed, conf: Path) -> str:
    """The runnable presets, * on the one this command line runs; then the bases, named."""
    only_bases = bases(read_presets(conf))
    runs = run_preset(composed.choices, conf)
    offered = composed.options.get("experiment", {})
    lines = [
        _wrap(
            f"{WHOLE_RUN_GROUPS['experiment']}; * the one this command line runs (with none "
            f"chosen and every group at its default option: {DEFAULT_PRESET}):"
        )
    ]
    shown = {name: said for name, said in offered.items() if name not in only_bases}
    column = _column(shown)
    lines += [_row(name, said, name == runs, column) for name, said in shown.items()]
    named = ", ".join(name for name in offered if name in only_bases)
    if named:
        lines.append(_wrap(f"Bases the presets above build on, not run alone: {named}.", 2))
    return "\n".join(lines)


def _options_block(composed: Composed, group: str) -> str:
    """A group with no section of its own (a search space): its options, * on the chosen."""
    heading = WHOLE_RUN_GROUPS.get(group, f"{group}=OPTION")
    chosen, offered = composed.choices.get(group), composed.options[group]
    column = _column(offered)
    rows = [_row(name, said, name == chosen, column) for name, said in offered.items()]
    return "\n".join([f"{heading}:", *rows])


def _section(composed: Composed, key: str) -> str:
    """A top-level key's block: a section's heading, its group's options and its keys; a plain
    key (seed), its row."""
    value = composed.job[key]
    schema = _schema(key, value)
    if schema is None:
        return _row(f"{key}={_value(value)}", field_notes(AddexpConfig).get(key, ""))
    heading = field_notes(AddexpConfig).get(key) or summary(schema)
    lines = [_wrap(f"{key}: {heading[0].upper()}{heading[1:].rstrip('.')}.")]
    chosen = composed.choices.get(key)
    lines += [
        _row(f"{key}={name}", said, name == chosen)
        for name, said in composed.options.get(key, {}).items()
    ]
    lines += [_row(name, said) for name, said in _keys(value, schema, f"{key}.")]
    return "\n".join(lines)


def _schema(key: str, value: Any) -> type | None:
    """The dataclass typing the top-level `key`: the chosen family's for `model`."""
    if key == "model" and isinstance(value, dict) and value.get("name") in FAMILIES:
        return FAMILIES[value["name"]].schema
    hinted = get_type_hints(AddexpConfig).get(key)
    return hinted if is_dataclass(hinted) else None


def _keys(section: dict, schema: type, prefix: str) -> list[tuple[str, str]]:
    """(key=VALUE, its note) for every key under `section`; a nested section (train's early
    stopping) as its name and its schema's summary, then its keys."""
    notes, hints = field_notes(schema), get_type_hints(schema)
    rows = []
    for key, value in section.items():
        inner = hints.get(key)
        if isinstance(value, dict) and is_dataclass(inner):
            rows.append((f"{prefix}{key}", summary(inner)))
            rows += _keys(value, inner, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}={_value(value)}", notes.get(key, "")))
    return rows


def _value(value: Any) -> str:
    """A value as one shell word of an override would type it: null, true, [1,2], {a:1}."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_value(v)}" for k, v in value.items()) + "}"
    return str(value) if value != "" else "''"


def _column(terms: dict[str, str]) -> int:
    """Where the descriptions of a list of `terms` start: after the longest, up to COLUMN."""
    return min(COLUMN, 4 + max(map(len, terms), default=0))


def _row(term: str, said: str, marked: bool = False, column: int = COLUMN) -> str:
    """`term` (marked with * in the first column) and `said` wrapped beside it from `column`,
    or below it when `term` is too wide."""
    start = f"{'*' if marked else ' '} {term}"
    start = start if len(start) < WIDTH else start[: WIDTH - 1] + "…"
    pad = " " * column
    lines = textwrap.wrap(said, WIDTH - column) or [""]
    if len(start) > column - 2:
        return "\n".join([start, *(pad + line for line in lines if line)])
    first = f"{start:<{column}}{lines[0]}".rstrip()
    return "\n".join([first, *(pad + line for line in lines[1:])])


def _wrap(said: str, indent: int = 0) -> str:
    """A paragraph wrapped to WIDTH, its lines after the first indented by two more."""
    pad = " " * indent
    return textwrap.fill(said, WIDTH, initial_indent=pad, subsequent_indent=pad + "  ")


def show(args: argparse.Namespace) -> None:
    """Print the help for Hydra's reading of the command line (`requested`)."""
    print(text(compose(args.overrides, resolve=args.resolve)), end="")
