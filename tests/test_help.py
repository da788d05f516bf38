"""`addexp --help`: every key with its value and its schema note, every runnable preset and
group option with its summary, bases apart, in 100 columns, without TensorFlow or MLflow."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields, is_dataclass
from typing import Any, get_type_hints

import pytest
from omegaconf import OmegaConf

from addexp.cli import usage
from addexp.config.notes import field_notes, header_line
from addexp.config.presets import DEFAULT_PRESET, bases, read_presets
from addexp.config.schema import AddexpConfig
from addexp.models import FAMILIES
from tests.conftest import CONF, addexp, compose


@pytest.fixture(scope="module")
def shown(tmp_path_factory) -> str:
    """What the real `addexp --help` prints."""
    done = addexp(["--help"], tmp_path_factory.mktemp("help"))
    assert done.returncode == 0, done.stderr
    return done.stdout


def rows(text: str) -> dict[str, tuple[bool, str]]:
    """Each listed term (`name`, `group=option`, `key=value`) -> (marked with *, its description
    with the lines it wraps over joined)."""
    found: dict[str, tuple[bool, str]] = {}
    term = None
    for line in text.splitlines():
        row = re.match(r"^([* ]) (\S+)(?:\s{2,}(.*))?$", line)
        if row and not line.startswith("   "):
            term = row.group(2)
            found[term] = (row.group(1) == "*", row.group(3) or "")
        elif term and line.startswith("   ") and line.strip():
            marked, said = found[term]
            found[term] = (marked, f"{said} {line.strip()}".strip())
        else:
            term = None
    return found


def typed(value: Any) -> str:
    """A value as an override types it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(typed(v) for v in value) + "]"
    return str(value) if value != {} else "{}"


def keys(section: dict, schema: type, prefix: str) -> list[tuple[str, Any, str]]:
    """(key, value, schema note) of every key of a composed section, nested ones included."""
    hints, notes, found = get_type_hints(schema), field_notes(schema), []
    for name, value in section.items():
        if is_dataclass(hints[name]):
            found += keys(value, hints[name], f"{prefix}{name}.")
        else:
            found.append((f"{prefix}{name}", value, notes.get(name, "")))
    return found


def test_every_key_is_shown_with_its_default_and_its_note(shown):
    listed = rows(shown)
    job = OmegaConf.to_container(compose(), resolve=False)
    assert listed[f"seed={job['seed']}"][1] == field_notes(AddexpConfig)["seed"]
    hints = get_type_hints(AddexpConfig)
    for section, schema in [(f.name, hints[f.name]) for f in fields(AddexpConfig)]:
        if section == "seed":
            continue
        schema = FAMILIES[job["model"]["name"]].schema if section == "model" else schema
        for key, value, note in keys(job[section], schema, f"{section}."):
            assert note, f"{key} has no comment in its schema"
            assert listed[f"{key}={typed(value)}"] == (False, note)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_model_key_has_a_note(family):
    schema = FAMILIES[family].schema
    assert {f.name for f in fields(schema)} == set(field_notes(schema))


def test_runnable_presets_are_listed_with_their_summary_and_bases_named_apart(shown):
    listed, presets = rows(shown), read_presets(CONF)
    only_bases = bases(presets)
    assert only_bases == {"keras_base", "length_base"}  # shared parts that choose no model
    for name in presets:
        summary = header_line((CONF / "experiment" / f"{name}.yaml").read_text())
        if name in only_bases:
            assert name not in listed
        else:
            assert summary, f"experiment/{name}.yaml has no header comment"
            assert listed[name] == (name == DEFAULT_PRESET, summary)
    assert "  Bases the presets above build on, not run alone: keras_base, length_base." in shown


def test_group_options_are_listed_with_their_summary_and_the_default_marked(shown):
    listed = rows(shown)
    choices = compose(return_hydra_config=True).hydra.runtime.choices
    for group in ("data", "format", "encoding", "model", "train", "eval", "tracking"):
        for path in sorted((CONF / group).glob("*.yaml")):
            summary = header_line(path.read_text())
            assert summary, f"{group}/{path.name} has no header comment"
            chosen = choices[group] == path.stem
            assert listed[f"{group}={path.stem}"] == (chosen, summary)
    assert listed["seq2seq_optuna"][1].startswith("Optuna (TPE) search")


def test_the_help_fits_in_100_columns_and_keeps_hydras_header_and_footer(shown):
    assert max(map(len, shown.splitlines())) <= usage.WIDTH
    help_cfg = compose(return_hydra_config=True).hydra.help
    assert shown.startswith(help_cfg.header)
    assert shown.endswith(help_cfg.footer)


def test_the_help_follows_the_command_line(tmp_path):
    done = addexp(["model=mlp", "train.epochs=5", "-h"], tmp_path)
    assert done.returncode == 0, done.stderr
    listed = rows(done.stdout)
    assert listed["model=mlp"][0] and not listed["model=seq2seq"][0]
    assert "model.units=[4,2]" in listed and "model.encoder_units=[100]" not in listed
    assert "train.epochs=5" in listed
    assert not listed[DEFAULT_PRESET][0]  # a group changed: the run is no preset


def test_a_mistake_beside_help_is_refused_as_for_a_run(tmp_path):
    done = addexp(["model=nope", "--help"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("addexp: invalid configuration:")
    assert "model/nope" in done.stderr


def test_hydras_help_is_still_hydras(tmp_path):
    done = addexp(["--hydra-help"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "== Flags ==" in done.stdout and "--hydra-help" in done.stdout


def test_help_imports_neither_tensorflow_nor_mlflow(tmp_path):
    probe = (
        "import sys; sys.argv = ['addexp', '--help']\n"
        "from addexp.cli.train import cli\n"
        "try:\n    cli()\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('tensorflow', 'keras', 'mlflow') if m in sys.modules], file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert "Presets (experiment=NAME)" in done.stdout
