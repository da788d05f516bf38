"""`addexp-bench`: measure addexp against its references in one sitting and write the report.

    addexp-bench                                  # every section -> docs/benchmarks.md
    addexp-bench --only data,throughput           # -> $TMPDIR/addexp-bench/benchmarks.md
    addexp-bench --override overhead train.epochs=10 --steps-per-execution 8
    addexp-bench --tiny                           # smallest sizes, a smoke test (tmp output)

Sections (`--only`): overhead (addexp against the plain Keras script), presets (each fast_*
preset against the preset it speeds up: time and exact match), data (sampling and
encoding against the tutorial's loops), throughput (training examples/s against the arithmetic
ceiling), inference (decoding, and the cold latency of addexp-predict), tracking (time in MLflow
per run), memory (peak memory against problems per epoch). Each comparison alternates its sides
and reports medians and ranges of `--repeats` (at least 3). Every store, Hydra output and model
goes to a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import addexp.cli  # noqa: F401 - the quiet console, before TensorFlow is imported anywhere
from addexp.benchmarks.settings import SECTIONS, Settings

if TYPE_CHECKING:
    from addexp.benchmarks.report import Section

EXIT_USAGE = 2
MIN_REPEATS = 3  # a median of fewer is no summary


def _sections(text: str) -> list[str]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or 'nothing'}: --only takes a comma-separated list of "
            f"{', '.join(SECTIONS)}"
        )
    return [s for s in SECTIONS if s in chosen]  # report order, whatever the order given


def _repeats(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < MIN_REPEATS:
        raise argparse.ArgumentTypeError(
            f"{text}: --repeats must be an integer >= {MIN_REPEATS} (medians of fewer "
            "measurements say nothing about the spread)"
        )
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be an integer >= 1")
    return int(text)


def _report_options() -> argparse.ArgumentParser:
    """The options of what is measured and where the report goes: --out, --only, --repeats,
    --tiny, --override (a parent parser, no help of its own)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--out",
        type=Path,
        help="the report (default: docs/benchmarks.md when every section runs; with --only "
        "a subset, or --tiny, addexp-bench/benchmarks.md in the system's temporary folder, "
        "so that a partial sitting never replaces the whole report)",
    )
    p.add_argument(
        "--only",
        type=_sections,
        default=list(SECTIONS),
        help=f"comma-separated sections, of {', '.join(SECTIONS)} (default: all, about 50 "
        "minutes on 2 cores)",
    )
    p.add_argument(
        "--repeats",
        type=_repeats,
        default=MIN_REPEATS,
        help=f"measurements per side, >= {MIN_REPEATS} (default {MIN_REPEATS})",
    )
    p.add_argument(
        "--tiny",
        action="store_true",
        help="smallest sizes: checks that every section runs, numbers mean little",
    )
    p.add_argument(
        "--override",
        nargs=2,
        action="append",
        default=[],
        metavar=("SECTION", "KEY=VALUE"),
        help="an addexp override for one section's runs and models (or 'all'), "
        "e.g. --override memory train.steps_per_execution=8; repeat as needed",
    )
    return p


def _execution_options() -> argparse.ArgumentParser:
    """The options of how it runs: --jit-compile, --steps-per-execution, --scratch (a parent
    parser, no help of its own)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--jit-compile",
        choices=["auto", "true", "false"],
        help="throughput: Keras compile's jit_compile (default: as addexp compiles the config, "
        "train.jit_compile)",
    )
    p.add_argument(
        "--steps-per-execution",
        type=_positive,
        help="throughput: Keras compile's steps_per_execution (default 1, one batch per call, "
        "so that a step's time splits into a fixed cost and a cost per example; an "
        "--override throughput train.steps_per_execution=N is used when given)",
    )
    p.add_argument(
        "--scratch",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="the folder (made if missing) in which the temporary folder for stores and "
        "outputs is made and removed at the end (default: the system's temporary folder)",
    )
    return p


def parser() -> argparse.ArgumentParser:
    """The command line of `addexp-bench` (see the module docstring)."""
    return argparse.ArgumentParser(
        prog="addexp-bench",
        description="Benchmark addexp against its references and write a Markdown report.",
        parents=[_report_options(), _execution_options()],
    )


def _overrides(pairs: list[list[str]], p: argparse.ArgumentParser) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for section, override in pairs:
        if section not in (*SECTIONS, "all"):
            p.error(f"--override {section}: the section must be one of {', '.join(SECTIONS)}, all")
        if "=" not in override.lstrip("+~"):
            p.error(f"--override {section} {override}: the override must be KEY=VALUE")
        for name in SECTIONS if section == "all" else (section,):
            found.setdefault(name, []).append(override)
    return {name: tuple(values) for name, values in found.items()}


def _check_overrides(
    overrides: dict[str, tuple[str, ...]], only: list[str], p: argparse.ArgumentParser
) -> None:
    """Compose every chosen section's overrides with each preset that section runs, as addexp
    would (no TensorFlow), so that a wrong key or value stops the command in seconds, before
    anything is measured."""
    import importlib

    from hydra.errors import HydraException

    from addexp.benchmarks.setup import compose

    for section in only:
        given = overrides.get(section, ())
        if not given:
            continue
        for preset in importlib.import_module(f"addexp.benchmarks.{SECTIONS[section]}").PRESETS:
            try:
                compose([f"experiment={preset}", *given])
            except (HydraException, ValueError) as error:
                message = str(error).strip().splitlines()[0]
                p.error(f"--override {section} {' '.join(given)} (with {preset}): {message}")


def _compile_options(args: argparse.Namespace, overrides: dict[str, tuple[str, ...]]) -> dict:
    """Keras compile options of the throughput section's models: one batch per call unless
    --steps-per-execution or an override of train.steps_per_execution says otherwise."""
    options: dict = {}
    if args.jit_compile is not None:
        options["jit_compile"] = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    configured = any(
        o.startswith("train.steps_per_execution=") for o in overrides.get("throughput", ())
    )
    if args.steps_per_execution is not None:
        options["steps_per_execution"] = args.steps_per_execution
    elif not configured:
        options["steps_per_execution"] = 1
    return options


def default_out(tiny: bool, only: Sequence[str]) -> Path:
    """The report's path without --out: docs/benchmarks.md for a whole sitting; a smoke test
    or a subset of the sections goes to the system's temporary folder instead, so that it never
    replaces the report of a whole sitting."""
    if tiny or list(only) != list(SECTIONS):
        return Path(tempfile.gettempdir()) / "addexp-bench" / "benchmarks.md"
    return Path("docs/benchmarks.md")


def _check_writable(out: Path, p: argparse.ArgumentParser) -> None:
    """Refuse a report path that cannot be written before anything is measured (a full
    sitting takes most of an hour), making its folder if it is missing."""
    if out.is_dir():
        p.error(f"--out {out}: is a folder; give the report's file name, e.g. {out / 'bench.md'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        p.error(f"--out {out}: cannot make the folder {out.parent} ({error.strerror})")
    if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        p.error(f"--out {out}: not writable")


@dataclass(frozen=True)
class Sitting:
    """What the report's head names: the command as given, the commit measured (as
    `report.git_state` gave it when the sitting began), when it began and the load average
    (1/5/15 min) then."""

    command: str
    commit: str
    started: datetime
    load: tuple[float, float, float]

    def head(self, end_load: tuple[float, float, float]) -> str:
        """The report's head (Markdown), with `end_load` as the load at the end."""
        from addexp.benchmarks import report

        return report.header(self.command, self.commit, self.started, (self.load, end_load))


def _sitting(argv: list[str]) -> Sitting:
    """The sitting beginning now, for the command `addexp-bench ARGV`."""
    from addexp.benchmarks import report

    command = shlex.join(["addexp-bench", *argv])
    started, load = report.now(), os.getloadavg()
    commit = report.git_state(Path(report.__file__).resolve().parent)  # what is measured
    return Sitting(command, commit, started, load)


def _settings(
    args: argparse.Namespace, overrides: dict[str, tuple[str, ...]], scratch: Path, out: Path
) -> Settings:
    """What every section is given: stores and outputs in `scratch`, images beside `out`."""
    return Settings(
        repeats=args.repeats,
        tiny=args.tiny,
        scratch=scratch,
        images=out.parent / "img",
        images_link="img",
        overrides=overrides,
        compile_options=_compile_options(args, overrides),
    )


def _keep_partial(
    out: Path, name: str, error: Exception, sitting: Sitting, sections: list[Section]
) -> None:
    """Write the sections measured before `name` failed to a `.partial.md` beside `out` (when
    there are any) and say so on stderr."""
    from addexp.benchmarks import report

    partial = out.with_suffix(".partial.md")
    if sections:
        failed = f"**Incomplete: section {name} failed: {error}**"
        head = sitting.head(os.getloadavg())
        partial.write_text(report.document(f"{head}\n\n{failed}", sections))
    kept = f"; the sections before it are in {partial}" if sections else ""
    print(
        f"addexp-bench: section {name} failed, {out} left as it was{kept}: {error}",
        file=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the chosen sections in one sitting and write the report; 0 when written, 1 when
    a section failed (the sections measured before it go to a `.partial.md` beside the
    report, which is left as it was), 2 for bad arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = parser()
    args = p.parse_args(argv)
    overrides = _overrides(args.override, p)
    _check_overrides(overrides, args.only, p)
    out = args.out or default_out(args.tiny, args.only)
    _check_writable(out, p)
    try:
        args.scratch.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        p.error(f"--scratch {args.scratch}: cannot make the folder ({error.strerror})")
    import importlib

    from addexp.benchmarks import report

    sitting = _sitting(argv)
    sections = []
    with tempfile.TemporaryDirectory(prefix="addexp-bench-", dir=args.scratch) as scratch:
        settings = _settings(args, overrides, Path(scratch), out)
        for name in args.only:
            print(f"addexp-bench: {name} ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            module = importlib.import_module(f"addexp.benchmarks.{SECTIONS[name]}")
            try:
                section = module.run(settings)
            except Exception as error:  # keep what was measured, whatever went wrong
                _keep_partial(out, name, error, sitting, sections)
                if not isinstance(error, (RuntimeError, ValueError, FileNotFoundError)):
                    raise  # not a measurement that failed but a fault: its traceback helps
                return 1
            section.seconds = time.perf_counter() - start
            print(f"addexp-bench: {name} done in {section.seconds:.0f} s", file=sys.stderr)
            sections.append(section)
    head = sitting.head(os.getloadavg())
    if args.tiny:  # a smoke test's numbers are read as if they were a benchmark's otherwise
        head += (
            "\n\n**Smoke test (`--tiny`): the smallest sizes, to check that every section runs. "
            "The numbers and the readings drawn from them mean little.**"
        )
    out.write_text(report.document(head, sections))
    print(f"addexp-bench: wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
