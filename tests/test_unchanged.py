"""What a user types gives what it gave: every recorded composition prints the same config, and
seeded runs of every framing give the same metrics (`tests/golden/`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.conftest import addexp, compose
from tests.golden.runs import CASES, GOLDEN, run_case

HERE = Path(__file__).parent / "golden"
CONFIG_CASES: dict[str, list[str]] = json.loads((HERE / "config_cases.json").read_text())


def test_every_preset_and_group_option_is_recorded():
    presets = {p.stem for p in (HERE.parent.parent / "conf" / "experiment").glob("*.yaml")}
    assert {f"experiment-{p}" for p in presets} <= set(CONFIG_CASES)


@pytest.mark.parametrize("name", sorted(CONFIG_CASES))
def test_composes_to_the_recorded_config(name):
    cfg = compose(CONFIG_CASES[name])
    assert OmegaConf.to_yaml(cfg) == (HERE / "configs" / f"{name}.yaml").read_text()


@pytest.mark.parametrize("name", ["default", "mixed-overrides"])
def test_the_command_prints_the_recorded_config(name, tmp_path):
    done = addexp(["--cfg", "job", *CONFIG_CASES[name]], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (HERE / "configs" / f"{name}.yaml").read_text()


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


@pytest.mark.parametrize(
    "name",
    [n if n == "seq2seq" else pytest.param(n, marks=pytest.mark.slow) for n in sorted(CASES)],
)  # one framing by default, every framing in the slow set
def test_a_seed_gives_the_recorded_metrics(name, tmp_path):
    recorded = json.loads(GOLDEN.read_text())[name]
    measured = run_case(CASES[name], tmp_path)
    assert sorted(measured) == sorted(recorded)
    differ = {
        k: (measured[k], recorded[k]) for k in recorded if not _same(measured[k], recorded[k])
    }
    assert not differ, differ
