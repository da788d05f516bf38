"""`addexp-bench`: the real command at its smallest sizes writes a report with every section's
numbers; bad options are one line and exit status 2. No timings are asserted (they depend on the
machine and its load)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

TITLES = {
    "data": "## Data:",
    "throughput": "## Throughput:",
    "inference": "## Inference:",
    "overhead": "## Overhead:",
    "tracking": "## Tracking:",
    "memory": "## Memory:",
}
NUMBER = re.compile(r"\d[\d,]*(\.\d+)?")


def bench(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("addexp-bench")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


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
    for key, section in found.items():
        assert "**What this means.**" in section, key
        for table in tables(section):
            assert table, key
            for row in table:  # every row holds measured numbers beside its label
                assert any(NUMBER.fullmatch(c.split(" ")[0]) for c in row[1:]), (key, row)
    data_rows = tables(found["data"])[0]
    assert len(data_rows) == 3 and all(r[-1].endswith("x") for r in data_rows)
    throughput = tables(found["throughput"])
    assert {r[1] for r in throughput[0]} == {"32", "128"}
    assert [r[1] for r in throughput[1]] == ["1.71 M", "6.19 M"]  # FLOPs per example
    assert tables(found["tracking"])[0][0][0] == "whole process (start to exit)"
    assert list(tmp_path.iterdir()) == [tmp_path / "report"]  # scratch went elsewhere


def test_a_tiny_data_report_is_written_whole(tmp_path):
    """The benchmark program end to end on its cheapest section (the others in the slow test)."""
    out = tmp_path / "benchmarks.md"
    result = bench(["--tiny", "--only", "data", "--out", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
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
        (["--override", "all", "train.epoch=2"], "--override overhead train.epoch=2:"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path, args, message):
    result = bench([*args, "--out", str(tmp_path / "b.md")], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "b.md").exists()


def test_batch_sizes_slower_than_a_smaller_batch_are_named():
    from addexp.benchmarks.throughput import dips, irregular

    assert dips({32: 1.0, 128: 3.0, 512: 2.0, 1024: 2.5, 4096: 4.0}) == [512, 1024]
    assert irregular({"tutorial": {32: 1.0, 128: 2.0, 512: 3.0}}) == ""
    assert "the tutorial model at batch 512" in irregular({"tutorial": {128: 2.0, 512: 1.0}})
