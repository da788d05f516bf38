"""`addexp-bench`: the real command at its smallest sizes writes a report with every section's
numbers; bad options are one line and exit status 2. No timings are asserted (they depend on the
machine and its load)."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TITLES = {
    "presets": "## Presets:",
    "data": "## Data:",
    "throughput": "## Throughput:",
    "inference": "## Inference:",
    "serving": "## Serving:",
    "overhead": "## Overhead:",
    "tracking": "## Tracking:",
    "memory": "## Memory:",
}
NUMBER = re.compile(r"\d[\d,]*(\.\d+)?")


def bench(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("addexp-bench")
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1200,  # a hang guard: the whole-process sections take ~10 min on 2 cores
        env={**os.environ, **(env or {})},
    )


def tables(section: str) -> list[list[list[str]]]:
    """Every Markdown table of a section: rows of cells, the header and rule left out."""
    found, rows = [], []
    for line in [*section.splitlines(), ""]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            found.append(rows[2:])
            rows = []
    return found


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"(?m)^(?=## )", text)
    return {
        key: next(p for p in parts if p.startswith(title))
        for key, title in TITLES.items()
        if any(p.startswith(title) for p in parts)
    }


def check_numbers(found: dict[str, str]) -> None:
    """Every section reads its numbers, and every table row holds measured numbers."""
    for key, section in found.items():
        assert "**What this means.**" in section, key
        for table in tables(section):
            assert table, key
            for row in table:  # every row holds measured numbers beside its label
                assert any(NUMBER.fullmatch(c.split(" ")[0]) for c in row[1:]), (key, row)


@pytest.mark.slow
def test_tiny_report_has_every_chosen_section_with_numbers(tmp_path):
    out = tmp_path / "report" / "benchmarks.md"
    result = bench(["--tiny", "--only", "data,throughput,tracking", "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    for key in ("machine", "TensorFlow", "Keras", "MLflow", "NumPy", "addexp", "date"):
        assert f"| {key} |" in text
    assert "`addexp-bench --tiny --only data,throughput,tracking --out " in text
    assert "**Smoke test (`--tiny`)" in text  # never to be read as a benchmark
    found = sections(text)
    assert set(found) == {"data", "throughput", "tracking"}  # and only the chosen ones
    check_numbers(found)
    data_rows = tables(found["data"])[0]
    assert len(data_rows) == 3 and all(r[-1].endswith("x") for r in data_rows)
    throughput = tables(found["throughput"])
    assert {r[1] for r in throughput[0]} == {"32", "128"}
    assert [r[1] for r in throughput[1]] == ["1.71 M", "6.19 M"]  # FLOPs per example
    assert [r[0] for r in tables(found["tracking"])[0][:2]] == [
        "whole process (start to exit)",
        "the same run without the sampler",
    ]
    assert list(tmp_path.iterdir()) == [tmp_path / "report"]  # scratch went elsewhere


@pytest.mark.slow
def test_tiny_report_of_the_sections_that_run_whole_processes(tmp_path):
    """Overhead, presets, inference, serving and memory: whole addexp, reference, predict and
    model-server processes."""
    out = tmp_path / "benchmarks.md"
    only = "overhead,presets,inference,serving,memory"
    result = bench(["--tiny", "--only", only, "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    found = sections(text)
    assert set(found) == set(only.split(","))
    check_numbers(found)
    assert [r[0] for r in tables(found["presets"])[0]] == ["`tutorial_seq2seq`", "`fast_tutorial`"]
    assert text.count("; targets: at most 0.2x the time ") == 2  # a verdict for each pair
    assert "target at most 1.1x: " in found["overhead"]
    served = tables(found["serving"])[0]
    assert served[0][0].startswith("`POST /invocations`, one question (50 requests)")
    assert "every way of asking answered `7+10` with" in found["serving"]
    sizes = [r[0] for r in tables(found["memory"])[0]]
    assert sizes == ["1,000", "20,000"]  # the larger spans several chunks of the stream
    assert (tmp_path / "img" / "bench_memory.png").stat().st_size > 0


def test_a_tiny_data_report_is_written_whole(tmp_path):
    """The benchmark program end to end on its cheapest section (the others in the slow test):
    a partial sitting without --out goes to the temporary folder, never over the report of a
    whole sitting, and a missing --scratch folder is made."""
    report = tmp_path / "docs" / "benchmarks.md"
    report.parent.mkdir()
    report.write_text("a whole sitting\n")
    temp, scratch = tmp_path / "tmp", tmp_path / "new" / "scratch"
    temp.mkdir()
    result = bench(
        ["--only", "data", "--repeats", "3", "--scratch", str(scratch), "--tiny"],
        tmp_path,
        env={"TMPDIR": str(temp)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert report.read_text() == "a whole sitting\n"
    out = temp / "addexp-bench" / "benchmarks.md"
    assert f"wrote {out}" in result.stderr and scratch.is_dir() and not any(scratch.iterdir())
    found = sections(out.read_text())
    assert set(found) == {"data"} and "**What this means.**" in found["data"]
    rows = tables(found["data"])[0]
    assert len(rows) == 3 and all(NUMBER.fullmatch(r[-1].rstrip("x")) for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repeats", "1"], "--repeats must be an integer >= 3"),
        (["--only", "data,speed"], "speed: --only takes a comma-separated list of"),
        (["--override", "disk", "train.epochs=2"], "--override disk: the section must be"),
        (["--override", "memory", "train.epochs"], "the override must be KEY=VALUE"),
        (["--override", "all", "train.epoch=2"], "--override overhead train.epoch=2 (with"),
        (  # right for the published preset, wrong for the fast one: every preset is checked
            ["--only", "presets", "--override", "presets", "model.encoder_units=[8]"],
            "--override presets model.encoder_units=[8] (with fast_tutorial):",
        ),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path, args, message):
    result = bench([*args, "--out", str(tmp_path / "b.md")], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "b.md").exists()


def test_only_a_whole_sitting_writes_the_report_by_default():
    from addexp.benchmarks.command import default_out
    from addexp.benchmarks.settings import SECTIONS

    assert default_out(False, SECTIONS) == Path("docs/benchmarks.md")
    for tiny, only in [(True, SECTIONS), (False, list(SECTIONS)[:-1]), (False, ["data"])]:
        assert default_out(tiny, only).parent.name == "addexp-bench"


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (".", "is a folder; give the report's file name"),
        ("taken/b.md", "cannot make the folder"),
    ],
)
def test_a_report_that_cannot_be_written_is_refused_before_measuring(tmp_path, out, message):
    (tmp_path / "taken").write_text("a file where a folder would go\n")
    result = bench(["--only", "data", "--out", out], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "addexp-bench: data ..." not in result.stderr  # nothing was measured


def test_batch_sizes_slower_than_a_smaller_batch_are_named():
    from addexp.benchmarks.throughput import dips, irregular

    assert dips({32: 1.0, 128: 3.0, 512: 2.0, 1024: 2.5, 4096: 4.0}) == [512, 1024]
    assert irregular({"tutorial": {32: 1.0, 128: 2.0, 512: 3.0}}) == ""
    assert "the tutorial model at batch 512" in irregular({"tutorial": {128: 2.0, 512: 1.0}})


def test_a_child_writing_much_output_is_timed_to_its_end(tmp_path):
    """Output goes to files, not pipes: a child writing far more than a pipe holds never
    blocks, and its whole output comes back."""
    from addexp.benchmarks.measure import ProcessFailed, run_process

    code = "import sys; sys.stdout.write('x' * 2_000_000); sys.stderr.write('y' * 500_000)"
    finished = run_process([sys.executable, "-c", code], tmp_path, timeout=60)
    assert (len(finished.stdout), len(finished.stderr)) == (2_000_000, 500_000)
    assert finished.returncode == 0 and finished.peak_rss > 0
    with pytest.raises(ProcessFailed, match="ran past 1 s and was killed"):
        run_process([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, timeout=1)
    with pytest.raises(ProcessFailed, match="exited with status 3:\nboom"):
        code = "import sys; sys.stderr.write('boom'); sys.exit(3)"
        run_process([sys.executable, "-c", code], tmp_path)


def test_a_seed_that_never_reaches_the_target_is_counted_not_averaged():
    from addexp.benchmarks.measure import Stat
    from addexp.benchmarks.presets import _first_cell, verdict

    nan = math.nan
    held_out = Stat((0.995, 0.98, 0.996))
    assert _first_cell(Stat((9.0, nan, 11.0)), held_out) == "10 (9-11); 1 of 3 seeds never"
    assert _first_cell(Stat((nan, nan, nan)), held_out) == "never (3 seeds)"
    assert _first_cell(Stat((nan,) * 3), Stat((nan,) * 3)) == "-"  # no validation set
    fast = {
        "val_last": held_out,
        "val_last3_min": Stat((0.992, 0.97, 0.994)),
        "exact": Stat((0.9, 0.9, 0.9)),
    }
    assert verdict(0.15, fast) == (
        "targets: at most 0.2x the time met, median held-out exact match >= 0.99 met, "
        "each of the last 3 epochs >= 0.99 NOT met"
    )
    fresh = {"val_last": Stat((nan,) * 3), "exact": Stat((0.991, 0.99, 1.0))}
    assert verdict(0.25, fresh) == (
        "targets: at most 0.2x the time NOT met, median test exact match >= 0.99 met"
    )


def test_throughput_runs_one_batch_per_call_unless_told_otherwise():
    from addexp.benchmarks.command import _compile_options, parser

    def options(*argv: str, overrides: tuple[str, ...] = ()) -> dict:
        return _compile_options(parser().parse_args(list(argv)), {"throughput": overrides})

    assert options() == {"steps_per_execution": 1}
    assert options("--steps-per-execution", "8", "--jit-compile", "true") == {
        "steps_per_execution": 8,
        "jit_compile": True,
    }
    assert options(overrides=("train.steps_per_execution=4",)) == {}  # the config's own
