"""The MLflow UI as a user sees it: a real `mlflow server` on 127.0.0.1 serving a store that holds
a small sweep made by the real `addexp`, opened in headless Chromium through Playwright.

Needs Debian's Chromium at /usr/bin/chromium (`apt-get install chromium`; Playwright's own browser
download is not used). Without it the tests skip, except in CI (`CI` set), where they fail.
Screenshots go to $ADDEXP_UI_SHOTS if set (docs/img/ was made so), else to a temporary folder.
"""

from __future__ import annotations

import csv
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from addexp.tracking import store as tracking
from tests.conftest import addexp, serve_mlflow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Two seeds that learn something in seconds, so the plots show real mistakes and successes.
SWEEP = [
    "-m",
    "seed=1,2",
    "train.epochs=6",
    "train.examples=1000",
    "train.batch_size=16",
    "train.learning_rate=0.01",
    "eval.examples=200",
    "eval.show=0",
    "tracking.log_model=false",
]
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    reason = f"{CHROMIUM} is missing: apt-get install chromium"
    if os.environ.get("CI"):
        raise RuntimeError(f"the browser tests must run in CI, but {reason}")
    pytestmark = [pytest.mark.browser, pytest.mark.skip(reason=reason)]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """(folder, tracking URI) of a store that will hold one `addexp -m seed=1,2` sweep, and the
    sweep itself, running (a Future of its finished process)."""
    folder = tmp_path_factory.mktemp("ui")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()  # the schema, before two processes open the store
    with ThreadPoolExecutor(1) as pool:
        yield folder, uri, pool.submit(addexp, SWEEP, folder)


@pytest.fixture(scope="module")
def server(sweep):
    """URL of an `mlflow server` over the sweep's store, started while the sweep runs."""
    folder, uri, made = sweep
    with serve_mlflow(uri, folder / "server.log") as (url, _):
        result = made.result()
        assert result.returncode == 0, result.stderr[-3000:]
        yield url


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("ADDEXP_UI_SHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile (nothing remembered) with a large window."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    # a first visit's tour bubble ("Detect Issues in Your Traces") covers the page until dismissed
    got_it = page.get_by_role("button", name="Got it")
    page.add_locator_handler(got_it, lambda button: button.click())
    yield page
    context.close()


def _open_experiment(page, url: str) -> None:
    page.goto(f"{url}/#/experiments")
    page.get_by_test_id("experiment-list-item-link").filter(has_text=re.compile("^addexp$")).click()


def _parent_name(uri: str) -> str:
    """The sweep parent's run name, as the store holds it (e.g. "sweep tutorial_seq2seq: seed")."""
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("addexp").experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.run_name.startswith("sweep ") and parent.info.run_name.endswith(": seed")
    return parent.info.run_name


def _open_training_runs(page, url: str, uri: str):
    """What the README tells a user: open the experiment, choose "Model training"."""
    from playwright.sync_api import expect

    _open_experiment(page, url)
    page.get_by_text("Model training", exact=True).click()
    expect(page).to_have_url(re.compile(r"/experiments/\d+/runs\?.*workflowType=machine_learning"))
    parent = page.get_by_role("row").filter(has_text=_parent_name(uri))
    parent.wait_for()
    close_assistant = page.locator('[data-component-id="mlflow.assistant.chat_panel.close"]')
    if close_assistant.is_visible():
        close_assistant.click()  # the UI's chat panel, which hides half the table
    return parent


def _expand(page, parent) -> None:
    parent.locator('button[data-component-id*="runnamecellrenderer"]').click()
    page.get_by_role("link", name="seed=2", exact=True).wait_for()


def _children(uri: str) -> dict[str, object]:
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("addexp").experiment_id])
    return {r.info.run_name: r for r in runs if "mlflow.parentRunId" in r.data.tags}


def test_the_experiment_opens_on_its_training_runs_once_model_training_is_chosen(
    page, server, sweep
):
    from playwright.sync_api import expect

    _open_experiment(page, server)
    # MLflow 3.17 opens every experiment on the GenAI overview until the user picks the
    # "Model training" side of the switch, which the browser then remembers
    expect(page).to_have_url(re.compile(r"workflowType=genai"))
    page.get_by_text("Model training", exact=True).click()
    page.get_by_role("row").filter(has_text=_parent_name(sweep[1])).wait_for()
    _open_experiment(page, server)
    expect(page).to_have_url(re.compile(r"/runs\?.*workflowType=machine_learning"))
    expect(page.get_by_text("3 matching runs")).to_be_visible()  # parent and two children


def test_the_sweep_expands_to_its_children_named_by_their_swept_values(page, server, sweep, shots):
    from playwright.sync_api import expect

    parent = _open_training_runs(page, server, sweep[1])
    expect(page.get_by_role("link", name="seed=1", exact=True)).to_have_count(0)  # collapsed
    _expand(page, parent)
    children = _children(sweep[1])
    assert sorted(children) == ["seed=1", "seed=2"]
    for run in children.values():  # the Dataset column: each child's own test set
        test_set = next(
            i.dataset for i in run.inputs.dataset_inputs if any(t.value == "test" for t in i.tags)
        )
        expect(page.get_by_text(f"{test_set.name} ({test_set.digest})")).to_be_visible()
    page.screenshot(path=shots / "ui_sweep.png")


def test_a_child_shows_its_metrics_plots_and_predictions(page, server, sweep, shots):
    from playwright.sync_api import expect

    _expand(page, _open_training_runs(page, server, sweep[1]))
    child = _children(sweep[1])["seed=2"]
    page.get_by_role("link", name="seed=2", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/runs/{child.info.run_id}"))

    metric = page.get_by_role("row").filter(has=page.get_by_role("link", name="test/exact_match"))
    expect(metric).to_contain_text(f"{child.data.metrics['test/exact_match']:g}")
    expect(page.get_by_text("Datasets", exact=True)).to_be_visible()

    page.get_by_role("tab", name="Artifacts").click()
    for plot in ("learning_curves.png", "answer_positions.png", "answer_confusion.png"):
        page.get_by_text(plot, exact=True).click()
        image = page.locator(f'img[alt="{plot}"]')
        expect(image).to_be_visible()
        assert image.evaluate("img => img.decode().then(() => img.naturalWidth)") > 300
    page.screenshot(path=shots / "ui_run_plots.png")

    page.get_by_text("predictions.csv", exact=True).click()
    local = MlflowClient(sweep[1]).download_artifacts(
        child.info.run_id, "predictions.csv", str(sweep[0])
    )
    with open(local) as handle:
        first = next(csv.DictReader(handle))
    row = page.locator("tr").filter(has_text=first["input"]).first
    expect(page.locator("th").filter(has_text="expected")).to_be_visible()
    expect(row).to_contain_text(first["expected"])
    expect(row).to_contain_text(first["predicted"])
    page.screenshot(path=shots / "ui_predictions.png")


def test_the_children_compare_side_by_side(page, server, sweep, shots):
    from playwright.sync_api import expect

    _expand(page, _open_training_runs(page, server, sweep[1]))
    for name in ("seed=1", "seed=2"):
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
        row.get_by_role("checkbox").first.check()
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_text("Comparing 2 Runs from 1 Experiment")).to_be_visible()
    details = page.locator("tr").filter(has_text="Run Name:")
    expect(details).to_contain_text("seed=1")
    expect(details).to_contain_text("seed=2")
    expect(page.locator("tr").filter(has_text="test/exact_match").first).to_be_visible()
    page.get_by_label("Parameters - Show diff only").click()
    expect(page.locator("tr").filter(has_text="train.batch_size")).to_have_count(0)
    page.get_by_text("answer_confusion.png", exact=True).click()  # previews of both runs
    plots = page.locator('img[alt="answer_confusion.png"]')
    expect(plots).to_have_count(2)
    plots.last.scroll_into_view_if_needed()
    page.screenshot(path=shots / "ui_compare.png")


def test_the_address_a_run_logs_opens_it_on_the_model_training_side(page, server, sweep):
    from playwright.sync_api import expect

    child = _children(sweep[1])["seed=1"]
    page.goto(tracking.ui_address(server, child.info.experiment_id, child.info.run_id))
    expect(page.get_by_role("heading", name="seed=1")).to_be_visible()
    expect(page.get_by_role("link", name="Runs", exact=True).first).to_be_visible()  # not GenAI
    expect(page.get_by_text("Evaluation runs")).to_have_count(0)
