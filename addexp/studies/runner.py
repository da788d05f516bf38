"""A study's sitting: run its commands, one after another, into a fresh store, and keep the
manifest (`manifest.json` in the folder) of what ran: commit, machine, versions, each command's
arguments, wall time, exit status and the machine's load average when it ended (other work on
the machine slows the runs' timed numbers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from addexp.benchmarks.report import NOT_INSTALLED, cpu_model, git_state, installed_version
from addexp.studies.commands import Command

MANIFEST = "manifest.json"
STORE = "mlflow.db"
DISTRIBUTIONS = {
    "Python": None,
    "TensorFlow": ("tensorflow-cpu", "tensorflow"),
    "Keras": ("keras",),
    "MLflow": ("mlflow",),
    "Hydra": ("hydra-core",),
    "Optuna": ("optuna",),
}


class StudyError(RuntimeError):
    """A sitting that cannot start or a command that failed: the message says which and why."""


def store_uri(folder: Path) -> str:
    return f"sqlite:///{(folder / STORE).resolve()}"


def _versions() -> dict[str, str]:
    found = {"Python": sys.version.split()[0]}
    for label, names in DISTRIBUTIONS.items():
        if names and (found_version := installed_version(*names)) != NOT_INSTALLED:
            found[label] = found_version
    return found


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        raise StudyError(f"{folder} holds no {MANIFEST}: it is not the folder of a study's runs")
    return json.loads(path.read_text())


def _save(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def sit(folder: Path, commands: list[Command], tiny: bool) -> dict[str, Any]:
    """Run `commands` into `folder`'s new store; returns the manifest. Raises StudyError if the
    folder holds a store already (a study's runs are made afresh) or a command fails (its
    console is in `folder/logs/NAME.log`, the manifest records the failure)."""
    if (folder / STORE).exists():
        raise StudyError(
            f"{folder} holds a store already ({STORE}); a study makes its runs afresh: choose "
            "another --folder, or --render-only to write the pages from those runs again"
        )
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    manifest = {
        "commit": git_state(Path(__file__).parent),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{cpu_model()}, {os.cpu_count()} logical CPUs",
        "versions": _versions(),
        "tiny": tiny,
        "commands": [],
    }
    _save(folder, manifest)
    for command in commands:
        manifest["commands"].append(_run(folder, command, tiny))
        _save(folder, manifest)
        if manifest["commands"][-1]["exit"] != 0:
            log = folder / "logs" / f"{command.name}.log"
            tail = "\n".join(log.read_text().splitlines()[-15:])
            raise StudyError(
                f"{command.name} failed (exit {manifest['commands'][-1]['exit']}); "
                f"its console is in {log}, which ends:\n{tail}"
            )
    manifest["ended"] = datetime.now(UTC).isoformat(timespec="seconds")
    _save(folder, manifest)
    return manifest


def _run(folder: Path, command: Command, tiny: bool) -> dict[str, Any]:
    argv = command.argv(store_uri(folder), tiny)
    started = time.monotonic()
    with open(folder / "logs" / f"{command.name}.log", "w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "addexp", *argv],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    print(f"  {command.name}: {seconds / 60:.1f} min, exit {done.returncode}", flush=True)
    return {
        "name": command.name,
        "argv": argv,
        "seconds": round(seconds, 1),
        "exit": done.returncode,
    }
