"""`addexp-study`: make a study's runs afresh and write its page from them.

    addexp-study                          # every study: runs into ./study-runs, pages into docs/
    addexp-study results --folder /tmp/r  # one study
    addexp-study --render-only --folder study-runs   # the pages again, from runs made before
    addexp-study --tiny --folder /tmp/t   # every step in minutes (pages into /tmp/t/docs)

The commands of the chosen studies run once each, one after another, into `FOLDER/mlflow.db`
(the folder must hold no store yet); `FOLDER/manifest.json` records the commit, machine,
versions and every command with its wall time and exit status, and `FOLDER/logs/` each
command's console. A failed command stops the sitting: no page is written. The pages go to
`--out`, and beside them, in `study/`, each page's table specifications and a copy of the store
and the manifest: the evidence every number of the pages can be checked against.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from addexp.cli import EXIT_USAGE, add_verbose, console
from addexp.studies import findings, results
from addexp.studies.commands import COMMANDS
from addexp.studies.runner import MANIFEST, STORE, StudyError, read_manifest, sit, store_uri
from addexp.studies.study import SPECS, Context, Study

STUDIES: dict[str, Study] = {s.name: s for s in (results.STUDY, findings.STUDY)}
FOLDER = Path("study-runs")


def _study(name: str) -> str:
    if name not in STUDIES:
        raise argparse.ArgumentTypeError(
            f"{name}: there is no such study; the studies are "
            + ", ".join(f"{s.name} ({s.summary})" for s in STUDIES.values())
        )
    return name


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="addexp-study",
        description="Make the runs of published studies afresh and write their pages from them.",
    )
    p.add_argument(
        "studies",
        nargs="*",
        type=_study,
        metavar="STUDY",
        help=f"of {', '.join(STUDIES)} (default: all)",
    )
    p.add_argument(
        "--folder",
        type=Path,
        default=FOLDER,
        help=f"where the runs' store, manifest and logs go (default: {FOLDER})",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="the folder the pages go to (default: docs; with --tiny, FOLDER/docs, "
        "so that a smoke test never replaces the published pages)",
    )
    p.add_argument(
        "--tiny",
        action="store_true",
        help="seeds 1 and 2, one epoch of 64 examples: every step, numbers that mean nothing",
    )
    p.add_argument(
        "--render-only",
        action="store_true",
        help="make no runs: write the pages from the runs FOLDER holds",
    )
    add_verbose(p)
    return p


def publish(folder: Path, out: Path) -> Path:
    """Copy the sitting's store and manifest into `out/study/`, beside the pages' tables; returns
    that folder."""
    evidence = out / SPECS
    evidence.mkdir(parents=True, exist_ok=True)
    for name in (STORE, MANIFEST):
        if (folder / name).resolve() != (evidence / name).resolve():
            shutil.copy2(folder / name, evidence / name)
    return evidence


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console(args.verbose)
    chosen = [STUDIES[name] for name in dict.fromkeys(args.studies or STUDIES)]
    try:
        if args.render_only:
            manifest = read_manifest(args.folder)
        else:
            names = dict.fromkeys(c for study in chosen for c in study.commands)
            print(f"addexp-study: {len(names)} sweeps into {args.folder / 'mlflow.db'}", flush=True)
            manifest = sit(args.folder, [COMMANDS[n] for n in names], args.tiny)
        out = args.out or (args.folder / "docs" if manifest["tiny"] else Path("docs"))
        out.mkdir(parents=True, exist_ok=True)
        context = Context(store_uri(args.folder), out, manifest)
        for study in chosen:
            print(f"addexp-study: wrote {study.write(context)}")
        print(f"addexp-study: the runs' store and manifest: {publish(args.folder, out)}")
    except (StudyError, LookupError, ValueError) as error:
        print(f"addexp-study: {error}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, StudyError) and args.render_only else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
