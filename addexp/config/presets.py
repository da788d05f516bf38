"""What each experiment preset (`conf/experiment/*.yaml`) chooses and sets, read from its YAML,
for advice when a preset and a group option chosen beside it do not fit together.

`addexp experiment=keras_addition_rnn model=teacher_forcing` composes the preset's
`model.encoder_units` onto a family that has no such key; Hydra says only that the key is
unknown. `clash` says which preset set which keys for which option, and what to choose
instead: a preset of the same base made for the chosen option, or the base itself with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf


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
