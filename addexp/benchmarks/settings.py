"""What every section is given: repeats, sizes (full or tiny), the scratch folder and the
addexp overrides of each section."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# section name (as `--only` takes it, in report order) -> its module in addexp.benchmarks
SECTIONS = {
    "overhead": "overhead",
    "presets": "presets",
    "data": "data",
    "throughput": "throughput",
    "inference": "inference",
    "serving": "serving",
    "tracking": "mlflow_time",
    "memory": "memory",
}


@dataclass(frozen=True)
class Settings:
    """`repeats`: measurements per side (medians); `tiny`: smallest sizes (a smoke test);
    `scratch`: the temporary folder every store, Hydra output and model goes to; `overrides`:
    extra `addexp` overrides (key=value) per section; `compile_options`: given to Keras's
    `compile` for the throughput section; `images`: where plots are written, and `images_link`
    the same folder as the report links it."""

    repeats: int
    tiny: bool
    scratch: Path
    images: Path
    images_link: str
    overrides: dict[str, tuple[str, ...]] = field(default_factory=dict)
    compile_options: dict[str, Any] = field(default_factory=dict)

    def extra(self, section: str) -> list[str]:
        """The overrides given for `section` on the command line."""
        return list(self.overrides.get(section, ()))

    def folder(self, name: str) -> Path:
        """A new folder in the scratch folder (a section's launch folder: its store, outputs)."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.scratch))

    def size(self, full: Any, tiny: Any) -> Any:
        return tiny if self.tiny else full
