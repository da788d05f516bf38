"""A study: the commands that make its runs and the page written from them; the page's head."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from addexp.studies.commands import COMMANDS

SPECS = "study"  # the folder beside the pages: their tables' specifications, store, manifest


@dataclass(frozen=True)
class Context:
    """What a page is written from: the store at `uri` the commands filled, the `manifest` of
    that sitting (`addexp.studies.runner`), and `out`, the folder the page (and its images,
    in `out/img`) goes to; `specs` collects the page's table specifications as it is written."""

    uri: str
    out: Path
    manifest: dict[str, Any]
    specs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Study:
    """`name` (as `addexp-study` takes it), `page` (its file name), the `commands` (names in
    COMMANDS) whose runs it reads, a one-line `summary`, and `body`, the page's sections."""

    name: str
    page: str
    title: str
    summary: str
    commands: tuple[str, ...]
    body: Callable[[Context], list[str]]

    def __post_init__(self) -> None:
        unknown = [c for c in self.commands if c not in COMMANDS]
        if unknown:
            raise ValueError(f"study {self.name}: no command is called {', '.join(unknown)}")

    def write(self, context: Context) -> Path:
        """Write the page into `context.out` and its tables' specifications into
        `context.out/study/<page>.json` (`SPECS`); returns the page's path."""
        context.specs.clear()
        parts = [f"# {self.title}", head(self, context.manifest), *self.body(context)]
        path = context.out / self.page
        path.write_text("\n\n".join(parts) + "\n")
        specs = context.out / SPECS / f"{Path(self.page).stem}.json"
        specs.parent.mkdir(parents=True, exist_ok=True)
        specs.write_text(json.dumps(context.specs, indent=1) + "\n")
        return path


def head(study: Study, manifest: dict[str, Any]) -> str:
    """Where the page's numbers come from: the command, the commit, the machine and the date."""
    versions = ", ".join(f"{k} {v}" for k, v in manifest["versions"].items())
    tiny = (
        " **with `--tiny`: a smoke test of the study; its numbers mean nothing.**"
        if manifest["tiny"]
        else ""
    )
    return (
        f"Written by `addexp-study {study.name}` from the runs it made afresh: addexp at commit "
        f"`{manifest['commit']}`, {manifest['started'][:10]}, on {manifest['machine']}; "
        f"{versions}.{tiny} Every measured number below is in a table computed from those "
        "runs. Their store and manifest are in `study/` beside this page, with each table's "
        f"specification (`study/{Path(study.page).stem}.json`, numbered as the comment above "
        f"the table). `addexp-study {study.name}` makes the runs again and rewrites this page "
        "(`addexp-study --help`)."
    )
