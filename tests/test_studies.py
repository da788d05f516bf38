"""The measured pages (docs/results.md, docs/findings.md) and `addexp-study`, which writes them
from the runs it makes: every number in their tables is computed again here, with MLflow's
client and the `statistics` module, from the store the sitting wrote, and compared cell by cell.

The published pages are checked against the store of their own sitting, committed beside them
(docs/study/); a `--tiny` sitting (slow set) checks the whole command: fresh runs, manifest,
pages, the refusal to write into a used folder, and pages written again from the same runs
coming out the same.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from addexp.studies.commands import COMMANDS, Command
from addexp.studies.tables import Runs, Stat, verdict

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("results.md", "findings.md")
PUBLISHED = ROOT / "docs" / "study"
SPEC = re.compile(r"^<!-- study-table (\d+) -->$", re.M)


def _runs(client: MlflowClient, spec: dict) -> list:
    experiment = client.get_experiment_by_name(spec["experiment"])
    query = "attributes.status = 'FINISHED'" + (f" and {spec['filter']}" if spec["filter"] else "")
    found = client.search_runs([experiment.experiment_id], query, max_results=50000)
    return [
        r
        for r in found
        if ("sweep.keys" in r.data.tags) == spec["parents"]
        and all(r.data.params.get(k) == v for k, v in spec["params"].items())
    ]


def _text(value: float, digits: int) -> str:
    return "nan" if math.isnan(value) else f"{value:.{digits}f}"


def _expected(stat: dict, found: dict[str, list]) -> str:
    """The cell's text as this test computes it from the runs (independently of the module)."""
    runs, metric, digits = found[stat["runs"]], stat["metric"], stat["digits"]
    values = [r.data.metrics[metric] for r in runs if metric in r.data.metrics]
    kind = stat["stat"]
    if kind == "n":
        return str(len(values) if metric else len(runs))
    if kind == "seeds":
        return ", ".join(str(s) for s in sorted(int(r.data.params["seed"]) for r in runs))
    if kind == "seconds":
        values = [(r.info.end_time - r.info.start_time) / 1000 for r in runs]
    if kind == "verdict":
        theirs = [r.data.metrics[metric] for r in found["baseline"]]
        if min(values) > max(theirs):
            return "higher, ranges apart"
        return "lower, ranges apart" if max(values) < min(theirs) else "within seed spread"
    if kind == "same_scores":

        def key(run) -> tuple:
            return tuple(run.data.params[k] for k in stat["keys"])

        base = {key(r): r.data.metrics[metric] for r in found["baseline"]}
        differ = sum(base.get(key(r)) != r.data.metrics[metric] for r in runs)
        return (
            f"yes, {len(runs)} of {len(runs)}"
            if not differ
            else f"no: {differ} of {len(runs)} differ"
        )
    if not values:
        return "-"
    if any(math.isnan(v) for v in values):
        point = low = high = math.nan
    else:
        low, high = min(values), max(values)
        point = {
            "median": statistics.median,
            "seconds": statistics.median,
            "median_range": statistics.median,
            "min": min,
            "max": max,
            "mean": statistics.fmean,
            "std": lambda v: statistics.stdev(v) if len(v) > 1 else 0.0,
        }[kind](values)
    text = _text(point, digits)
    text = f"**{text}**" if stat["bold"] else text
    if kind == "median_range" and len(values) > 1:
        text += f" ({_text(low, digits)}-{_text(high, digits)})"
    return text


def check_page(page: Path) -> int:
    """Compare every Stat cell of every table of `page` with the store beside it (`study/`);
    returns the count. Every table of the page is a specified one. The store is read from a
    copy: an MLflow newer than the one that wrote it migrates its schema when it opens it."""
    evidence = page.parent / "study"
    with tempfile.TemporaryDirectory() as folder:
        copy = shutil.copy(evidence / "mlflow.db", folder)
        return _check_cells(page, evidence, MlflowClient(f"sqlite:///{copy}"))


def _check_cells(page: Path, evidence: Path, client: MlflowClient) -> int:
    """`check_page` against the store `client` reads."""
    specs = json.loads((evidence / f"{page.stem}.json").read_text())
    text = page.read_text()
    marks = list(SPEC.finditer(text))
    assert [int(m[1]) for m in marks] == list(range(len(specs)))
    assert text.count("\n|---") == len(specs)  # no table without a specification
    checked = 0
    for match in marks:
        spec = specs[int(match[1])]
        lines = text[match.end() :].lstrip("\n").splitlines()
        assert lines[0] == "| " + " | ".join(spec["header"]) + " |", lines[0]
        for row, line in zip(spec["rows"], lines[2:], strict=False):
            cells = line.strip("| ").split(" | ")
            found = {name: _runs(client, runs) for name, runs in row["runs"].items()}
            for written, cell in zip(cells, row["cells"], strict=True):
                if isinstance(cell, str):
                    assert written == cell
                else:
                    assert written == _expected(cell, found), (page.name, cell, row["runs"])
                    checked += 1
        after = lines[2 + len(spec["rows"]) : 3 + len(spec["rows"])]
        assert len(lines) >= 2 + len(spec["rows"]) and not any(a.startswith("|") for a in after)
    return checked


def prose_numbers(page: Path) -> list[str]:
    """Decimal numbers outside tables, code, comments and `backticks` (measured numbers belong
    in the tables, where they are checked)."""
    text = re.sub(r"```.*?```|<!--.*?-->|`[^`]*`", "", page.read_text(), flags=re.S)
    prose = "\n".join(line for line in text.splitlines() if not line.startswith("|"))
    head = prose.split("\n\n", 2)  # title and the page's head (commit, versions)
    return re.findall(r"\d+\.\d+%?|\d+%", head[2] if len(head) > 2 else "")


def test_a_stat_is_one_of_the_known_ones():
    with pytest.raises(ValueError, match="a stat is one of n, seeds"):
        Stat("average", "test/exact_match")


def test_commands_narrow_to_two_seeds_and_one_epoch_for_a_smoke_test():
    full = COMMANDS["presets"].argv("sqlite:///s.db", tiny=False)
    tiny = COMMANDS["presets"].argv("sqlite:///s.db", tiny=True)
    assert "seed=1,2,3" in full and "seed=1,2" in tiny and "train.epochs=1" in tiny
    assert "tracking.uri=sqlite:///s.db" in full and "tracking.log_model=false" in full
    search = COMMANDS["optuna"].argv("sqlite:///s.db", tiny=True)
    assert not any(a.startswith("seed=") for a in search)  # a search draws no seed sweep
    ext = COMMANDS["ext_masking"]
    assert ext.shown() == "addexp -m experiment=ext_masking hydra/launcher=joblib " + (
        "hydra.launcher.n_jobs=2 tracking.experiment=findings eval.show=0 tracking.log_model=false"
    )
    assert isinstance(ext, Command) and "seed=1,2" in ext.argv("u", tiny=True)


@pytest.mark.parametrize(
    ("ours", "theirs", "said"),
    [
        ([0.99, 1.0], [0.95, 0.98], "higher, ranges apart"),
        ([0.90, 0.91], [0.95, 0.98], "lower, ranges apart"),
        ([0.96, 0.99], [0.95, 0.98], "within seed spread"),
        ([0.98], [0.95, 0.98], "within seed spread"),  # touching ranges overlap
    ],
)
def test_an_effect_counts_only_where_the_ranges_over_seeds_are_apart(ours, theirs, said):
    import numpy as np

    assert verdict(np.array(ours), np.array(theirs)) == said


def test_runs_select_by_filter_params_and_parenthood():
    assert Runs("e").parents is False and Runs("e", params={"seed": "1"}).params == {"seed": "1"}


@pytest.mark.parametrize("page", PAGES)
def test_the_published_pages_match_the_store_of_their_sitting(page):
    manifest = json.loads((PUBLISHED / "manifest.json").read_text())
    path = ROOT / "docs" / page
    assert f"at commit `{manifest['commit']}`" in path.read_text()
    assert not manifest["tiny"] and all(c["exit"] == 0 for c in manifest["commands"])
    assert check_page(path) > 20
    assert prose_numbers(path) == []


@pytest.fixture(scope="module")
def sitting(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("study")
    done = _study(["--tiny", "--folder", str(folder)], folder.parent)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return folder


def _study(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    program = Path(sys.executable).with_name("addexp-study")
    return subprocess.run(
        [str(program), *args], cwd=cwd, capture_output=True, text=True, timeout=1800
    )


@pytest.mark.slow
def test_a_sitting_writes_pages_whose_every_number_is_in_its_store(sitting):
    manifest = json.loads((sitting / "manifest.json").read_text())
    assert manifest["tiny"] and len(manifest["commands"]) == len(COMMANDS)
    assert all(c["exit"] == 0 for c in manifest["commands"])
    for page in PAGES:
        written = sitting / "docs" / page
        assert "a smoke test of the study" in written.read_text()
        assert check_page(written) > 20
        assert prose_numbers(written) == []
    assert (sitting / "docs" / "img" / "compare_batch_size.png").stat().st_size > 10_000


@pytest.mark.slow
def test_a_number_changed_by_hand_fails_the_check(sitting, tmp_path):
    import shutil

    copy = tmp_path / "docs"
    shutil.copytree(sitting / "docs", copy)
    page = copy / "results.md"
    text = page.read_text()
    row = re.search(r"^\| `tutorial_seq2seq` \| 1, 2 \| \*\*(\d\.\d{3})\*\*", text, re.M)
    changed = f"{(float(row[1]) + 0.5) % 1:.3f}"
    page.write_text(text[: row.start(1)] + changed + text[row.end(1) :])
    with pytest.raises(AssertionError):
        check_page(page)


@pytest.mark.slow
def test_a_used_folder_is_refused_and_the_pages_come_again_from_its_runs(sitting, tmp_path):
    before = (sitting / "mlflow.db").stat().st_mtime_ns
    again = _study(["results", "--tiny", "--folder", str(sitting)], tmp_path)
    assert again.returncode == 1 and "holds a store already" in again.stderr, again.stderr
    assert "Traceback" not in again.stderr and (sitting / "mlflow.db").stat().st_mtime_ns == before
    out = tmp_path / "pages"
    rendered = _study(["--render-only", "--folder", str(sitting), "--out", str(out)], tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    for page in PAGES:
        assert (out / page).read_text() == (sitting / "docs" / page).read_text()
        stem = Path(page).stem
        assert (out / "study" / f"{stem}.json").read_text() == (
            sitting / "docs" / "study" / f"{stem}.json"
        ).read_text()


def test_render_only_needs_the_folder_of_a_sitting(tmp_path):
    done = _study(["--render-only", "--folder", str(tmp_path)], tmp_path)
    assert done.returncode == 2 and "holds no manifest.json" in done.stderr, done.stderr
