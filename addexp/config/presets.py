"""What each experiment preset (`conf/experiment/*.yaml`) chooses and sets, read from its YAML:
for advice when a preset and a group option chosen beside it do not fit together, for the
presets `addexp --help` lists (its bases apart), and for the preset a run is tagged with.

`addexp experiment=keras_addition_rnn model=teacher_forcing` composes the preset's
`model.encoder_units` onto a family that has no such key; Hydra says only that the key is
unknown. `clash` says which preset set which keys for which option, and what to choose
instead: a preset of the same base made for the chosen option, or the base itself with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

# What `addexp` composes with no preset: every group at its default option is this preset
# (tests/test_config.py proves the two compositions equal).
DEFAULT_PRESET = "tutorial_seq2seq"


@dataclass(frozen=True)
class Preset:
    """One preset's own defaults and values: the presets it builds on (`bases`), the option it
    chooses in each group (`override /model: seq2seq`) and the keys it sets under each."""

    name: str
    bases: tuple[str, ...]
    choices: dict[str, str]
    keys: dict[str, tuple[str, ...]]


def read_presets(conf: Path) -> dict[str, Preset]:
    """Every preset in `conf/experiment`, by name."""
    found = {}
    for path in sorted((conf / "experiment").glob("*.yaml")):
        raw = OmegaConf.load(path)
        bases, choices = [], {}
        for entry in raw.get("defaults", []) if isinstance(raw, DictConfig) else []:
            if isinstance(entry, str) and entry != "_self_":
                bases.append(entry)
            elif isinstance(entry, DictConfig):
                for key, option in entry.items():
                    group = str(key).removeprefix("override").strip().lstrip("/")
                    choices[group] = str(option)
        keys = {
            str(group): tuple(str(k) for k in section)
            for group, section in raw.items()
            if group != "defaults" and not isinstance(section, ListConfig)
            and isinstance(section, DictConfig)
        }  # fmt: skip
        found[path.stem] = Preset(path.stem, tuple(bases), choices, keys)
    return found


def _chosen(presets: dict[str, Preset], name: str, group: str) -> str | None:
    """The option `name` chooses in `group`, itself or through its bases."""
    preset = presets.get(name)
    if preset is None:
        return None
    if group in preset.choices:
        return preset.choices[group]
    return next((c for b in preset.bases if (c := _chosen(presets, b, group))), None)


def _keys(presets: dict[str, Preset], name: str, group: str) -> list[str]:
    """The keys `name` sets under `group`, its bases' included."""
    preset = presets.get(name)
    if preset is None:
        return []
    inherited = [k for b in preset.bases for k in _keys(presets, b, group)]
    return list(dict.fromkeys([*inherited, *preset.keys.get(group, ())]))


def clash(conf: Path, preset: str, group: str, option: str, missing: str) -> str | None:
    """Advice when `experiment=preset` sets keys under `group` that `group=option`, chosen
    beside it, does not have (`missing`: the first, as Hydra refused it); None when the preset
    sets no keys there or made them for this option."""
    presets = read_presets(conf)
    keys = _keys(presets, preset, group)
    made_for = _chosen(presets, preset, group)
    if not keys or made_for == option:
        return None
    said = f"experiment={preset} sets {', '.join(f'{group}.{k}' for k in keys)}"
    said += f", made for its {group}={made_for}" if made_for else ""
    said += f"; {group}={option} has no key {missing}."
    bases = presets[preset].bases
    made = [p.name for p in presets.values() if _chosen(presets, p.name, group) == option]
    siblings = [name for name in made if set(presets[name].bases) & set(bases)]
    offers = [f"experiment={s}" for s in siblings or made]
    offers += [f"experiment={b} {group}={option}" for b in bases if not _keys(presets, b, group)]
    if offers:
        said += f" Choose instead: {' or '.join(offers)}."
    return said


def bases(presets: dict[str, Preset]) -> set[str]:
    """The presets that are only bases: built on by another preset and choosing no model,
    themselves or through their bases. Such a preset is the shared part of presets that each
    add their model; run alone it would train the default model on a setting made for others."""
    built_on = {base for preset in presets.values() for base in preset.bases}
    return {name for name in built_on & set(presets) if not _chosen(presets, name, "model")}


def default_choices(conf: Path) -> dict[str, str | None]:
    """The option `conf/config.yaml`'s defaults list chooses in each group (None: none)."""
    raw = OmegaConf.load(conf / "config.yaml")
    return {
        str(group): None if option is None else str(option)
        for entry in raw.get("defaults", [])
        if isinstance(entry, DictConfig)
        for group, option in entry.items()
    }


def run_preset(choices: Mapping[str, str | None], conf: Path) -> str | None:
    """The preset a run is: the one chosen with `experiment=`; with none, DEFAULT_PRESET when
    every config group is at its default option (keys set on top of it are set on top of
    that preset, as after `experiment=NAME`); None when a group option was changed. `choices`:
    Hydra's runtime choices; its own groups (`hydra/...`) do not change what is run."""
    chosen = choices.get("experiment")
    if chosen:
        return str(chosen)
    own = {g: o for g, o in choices.items() if not g.startswith("hydra/")}
    return DEFAULT_PRESET if own == default_choices(conf) else None
