"""The report: machine, versions, command and date, then one Markdown section per benchmark."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Table:
    """A Markdown table: a header row and rows of cells (already formatted)."""

    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Section:
    """One benchmark's part of the report: what was measured and how (`method`), its tables,
    what the numbers say (`meaning`), images (alt text, path relative to the report) and its
    wall time (seconds)."""

    key: str
    title: str
    method: str
    tables: list[Table]
    meaning: str
    images: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def markdown(self) -> str:
        parts = [f"## {self.title}", self.method]
        parts += [table.markdown() for table in self.tables]
        parts += [f"![{alt}]({path})" for alt, path in self.images]
        parts.append(f"**What this means.** {self.meaning}")
        parts.append(f"_Section time: {self.seconds / 60:.1f} min._")
        return "\n\n".join(parts)


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, else what the platform says)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


NOT_INSTALLED = "not installed"


def installed_version(*distributions: str) -> str:
    """The version of the first of `distributions` installed (NOT_INSTALLED: none is)."""
    for name in distributions:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return NOT_INSTALLED


def git_state(folder: Path) -> str:
    """The commit of the work tree holding `folder`, marked when it has uncommitted changes."""
    from addexp.tracking.store import git_commit

    commit = git_commit(folder)
    if commit is None:
        return "not a git work tree"
    status = subprocess.run(
        ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return commit + (" (with uncommitted changes)" if status.stdout.strip() else "")


def header(
    command: str, commit: str, started: datetime, loads: tuple[tuple[float, ...], ...]
) -> str:
    """The report's head: machine, versions, the commit measured (`git_state` when the sitting
    began), command, date and the load around the sitting."""
    import sys

    cores = psutil.cpu_count(logical=False) or os.cpu_count()
    ram = psutil.virtual_memory().total / 2**30
    load_text = ", ".join(f"{a:.2f}/{b:.2f}/{c:.2f}" for a, b, c in loads)
    rows = [
        [
            "machine",
            f"{cpu_model()}, {os.cpu_count()} logical CPUs ({cores} cores), "
            f"{ram:.1f} GiB RAM, {platform.system()} {platform.release()}",
        ],
        ["Python", sys.version.split()[0]],
        ["TensorFlow", installed_version("tensorflow-cpu", "tensorflow")],
        ["Keras", installed_version("keras")],
        ["MLflow", installed_version("mlflow")],
        ["NumPy", installed_version("numpy")],
        ["addexp", commit],
        ["command", f"`{command}`"],
        ["date", started.strftime("%Y-%m-%d %H:%M UTC")],
        ["load average (1/5/15 min) at start, end", load_text],
    ]
    table = Table(["", ""], rows).markdown()
    return "\n\n".join(
        [
            "# Benchmarks",
            "Every comparison below ran in one sitting on the machine described here, its sides "
            "alternating (A, B, A, B, ...) so that background load falls on both alike; each "
            "cell is the median of the repeats with the range (min-max) in brackets. Other work "
            "on the machine slows either side: the load average shows how busy it was, and the "
            "ranges show how much that moved the numbers. The same run timed in two sections "
            "(the tutorial in overhead, presets and tracking) can take different times, the "
            "load having changed between them: compare within a section. Regenerate this file "
            "with the command below (`addexp-bench --help` for the options).",
            table,
        ]
    )


def now() -> datetime:
    return datetime.now(UTC)


def document(head: str, sections: list[Section]) -> str:
    """The whole report as Markdown."""
    return "\n\n".join([head, *(section.markdown() for section in sections)]) + "\n"
