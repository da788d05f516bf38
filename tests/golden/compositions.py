"""The composed configs kept in `configs/`, one per case of `config_cases.json`: what each
recorded command line composes must stay what it was. `python -m tests.golden.compositions`
records them anew (only when a change is meant to change a composed config, such as a new key;
`git diff tests/golden/configs` then shows what changed)."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
CASES = HERE / "config_cases.json"


def record() -> None:
    from omegaconf import OmegaConf

    from tests.conftest import compose

    for name, overrides in json.loads(CASES.read_text()).items():
        (HERE / "configs" / f"{name}.yaml").write_text(OmegaConf.to_yaml(compose(overrides)))


if __name__ == "__main__":
    record()
