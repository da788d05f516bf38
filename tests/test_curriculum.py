"""Curricula over operand length (Zaremba & Sutskever 2014, "Learning to Execute", section 4):
the schedule as a pure function of the monitored values (property tests over random
histories), the per-example length sampler (uniform and mixed shares against chi-square
bounds, fixed seeds), the data drawn at those lengths in both regimes, the checks, and the real
`addexp` with every curriculum in both regimes and a resumed run that continues its schedule."""

from __future__ import annotations

import math

import mlflow
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from addexp.cli.entry import validate
from addexp.config.checks import ConfigError
from addexp.problems.space import ProblemSpace, question_keys
from addexp.training import curriculum as C
from tests.conftest import addexp, compose

DIGITS = ProblemSpace(mode="digits", min_digits=1, max_digits=4)


@st.composite
def curricula(draw, names: tuple[str, ...] = ("naive", "combined")) -> C.Curriculum:
    """Any valid curriculum: lengths, start, step, threshold, mixed share."""
    shortest = draw(st.integers(1, 6))
    longest = shortest + draw(st.integers(0, 20))
    return C.Curriculum(
        draw(st.sampled_from(names)),
        shortest,
        longest,
        start=draw(st.integers(shortest, longest)),
        step=draw(st.integers(1, 4)),
        threshold=draw(st.floats(0.01, 1.0)),
        mix_fraction=draw(st.floats(0.0, 1.0)),
    )


histories = st.lists(st.one_of(st.floats(0.0, 1.0), st.just(math.nan)), max_size=80)


def _grown_one_epoch_at_a_time(c: C.Curriculum, monitored: list[float]) -> list[int]:
    """The schedule told as a loop: the brute-force reference."""
    lengths = [c.start]
    for value in monitored:
        passed = value >= c.threshold and lengths[-1] < c.longest
        lengths.append(min(lengths[-1] + c.step, c.longest) if passed else lengths[-1])
    return lengths


@settings(max_examples=300, deadline=None)
@given(curricula(), histories)
def test_the_length_grows_exactly_when_the_monitor_reaches_the_threshold(c, monitored):
    schedule = c.schedule(monitored)
    lengths = schedule.lengths
    assert lengths.tolist() == _grown_one_epoch_at_a_time(c, monitored)
    assert len(lengths) == len(monitored) + 1 and lengths[0] == c.start
    assert (np.diff(lengths) >= 0).all()  # never shorter
    assert lengths.min() >= c.start and lengths.max() <= c.longest
    passed = np.array([v >= c.threshold for v in monitored], dtype=bool)  # NaN never passes
    assert schedule.advanced.tolist() == (passed & (lengths[:-1] < c.longest)).tolist()
    assert schedule.current == lengths[-1]


@settings(max_examples=100, deadline=None)
@given(curricula(names=("mix",)), histories)
def test_mix_trains_every_length_throughout(c, monitored):
    schedule = c.schedule(monitored)
    assert schedule.lengths.tolist() == [c.longest] * (len(monitored) + 1)
    assert not schedule.advanced.any()
    progression = C.Progression(c, monitored)
    assert {progression.stage(e).length for e in range(len(monitored) + 5)} == {c.longest}


@settings(max_examples=150, deadline=None)
@given(curricula(), histories)
def test_a_progression_recorded_epoch_by_epoch_is_the_schedule_and_restores_from_history(
    c, monitored
):
    progression = C.Progression(c)
    history = []
    for epoch, value in enumerate(monitored):
        assert progression.stage(epoch).length == progression.schedule.current
        metrics = {c.monitor: value, "train/loss": 1.0}
        history.append(metrics | progression.record(epoch, metrics))
    lengths = c.schedule(monitored).lengths
    assert progression.schedule.lengths.tolist() == lengths.tolist()
    assert [h[C.LENGTH_METRIC] for h in history] == lengths[:-1].tolist()
    advanced = [bool(h[C.ADVANCED_METRIC]) for h in history]
    assert advanced == c.schedule(monitored).advanced.tolist()
    restored = C.Progression.restored(c, history)
    assert restored.schedule.lengths.tolist() == lengths.tolist()
    assert restored.knows(len(monitored) + 1) and not restored.knows(len(monitored) + 2)
    with pytest.raises(ValueError, match="recorded after"):
        progression.record(len(monitored) + 1, {})


def test_a_history_of_other_lengths_is_refused():
    c = C.Curriculum("naive", 1, 5, 1, threshold=0.5)
    history = [{c.monitor: 0.9, C.LENGTH_METRIC: 1.0}, {c.monitor: 0.1, C.LENGTH_METRIC: 1.0}]
    with pytest.raises(ValueError, match="epoch 2 trained at operand length 1, but"):
        C.Progression.restored(c, history)


def test_the_schedule_is_told_by_the_epochs_each_length_starts_at():
    naive = C.Curriculum("naive", 1, 3, 1, threshold=0.5)
    progression = C.Progression(naive, [0.1, 0.6, 0.2, 0.2, 0.7, 0.9])
    assert progression.describe() == "1 from epoch 1, 2 from epoch 3, 3 from epoch 6"
    combined = C.Curriculum("combined", 1, 3, 2, threshold=0.5)
    told = C.Progression(combined, [0.1]).describe()
    assert told == "2 from epoch 1; a 0.2 share mixed, 1..3"
    assert C.Progression(C.Curriculum("mix", 2, 4, 2), [0.1]).describe() == (
        "every length of 2..4 mixed"
    )


def _chi_square(counts: np.ndarray, expected: np.ndarray) -> float:
    return float(((counts - expected) ** 2 / expected).sum())


def _bound(cells: int) -> float:
    """A chi-square bound for `cells` cells: the mean plus six standard deviations."""
    return (cells - 1) + 6 * math.sqrt(2 * (cells - 1))


@pytest.mark.parametrize(("shortest", "longest", "seed"), [(1, 3, 0), (1, 10, 1), (4, 9, 2)])
def test_mix_draws_every_length_equally_often(shortest, longest, seed):
    c = C.Curriculum("mix", shortest, longest, shortest)
    n = 60_000
    drawn = C.Stage(c, longest).example_lengths(n, np.random.default_rng(seed))
    assert drawn.min() >= shortest and drawn.max() <= longest
    counts = np.bincount(drawn - shortest, minlength=longest - shortest + 1)
    cells = longest - shortest + 1
    assert _chi_square(counts, np.full(cells, n / cells)) < _bound(cells)


@pytest.mark.parametrize(("fraction", "length", "seed"), [(0.2, 2, 0), (0.5, 1, 1), (0.9, 5, 2)])
def test_combined_mixes_its_share_and_trains_the_rest_at_the_current_length(fraction, length, seed):
    c = C.Curriculum("combined", 1, 6, 1, mix_fraction=fraction)
    n = 60_000
    drawn = C.Stage(c, length).example_lengths(n, np.random.default_rng(seed))
    cells = c.longest - c.shortest + 1
    expected = np.full(cells, fraction / cells)  # a mixed example may land on `length` too
    expected[length - c.shortest] += 1 - fraction
    counts = np.bincount(drawn - c.shortest, minlength=cells)
    assert _chi_square(counts, n * expected) < _bound(cells)


def test_naive_trains_every_example_at_the_current_length_and_draws_are_seeded():
    naive = C.Stage(C.Curriculum("naive", 1, 4, 1), 3)
    assert set(naive.example_lengths(500, np.random.default_rng(0)).tolist()) == {3}
    combined = C.Stage(C.Curriculum("combined", 1, 9, 1), 2)
    one, two = (combined.example_lengths(500, np.random.default_rng(7)) for _ in range(2))
    assert np.array_equal(one, two)
    assert not np.array_equal(one, combined.example_lengths(500, np.random.default_rng(8)))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=60),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_problems_drawn_at_lengths_have_every_operand_of_that_many_digits(lengths, terms, seed):
    space = DIGITS.with_changes(min_terms=terms, max_terms=terms + 1)
    lengths = np.array(lengths)
    drawn = C.sample_at_lengths(space, lengths, np.random.default_rng(seed))
    assert len(drawn) == len(lengths)
    present = drawn.operands != -1
    below = np.where(present, drawn.operands < 10 ** lengths[:, None], True)
    assert below.all() and (drawn.operands[present] >= 0).all()
    assert (C.problem_lengths(drawn) <= lengths).all()
    again = C.sample_at_lengths(space, lengths, np.random.default_rng(seed))
    assert np.array_equal(question_keys(drawn), question_keys(again))
    assert np.array_equal(drawn.targets, drawn.operands.clip(0).sum(axis=1))  # sums, exact


def test_problems_drawn_at_lengths_leave_out_excluded_questions():
    rng = np.random.default_rng(3)
    short = DIGITS.with_changes(min_digits=1, max_digits=1)
    exclude = np.unique(question_keys(C.sample_at_lengths(short, np.full(60, 1), rng)))
    drawn = C.sample_at_lengths(DIGITS, np.array([1, 2, 1, 3] * 50), rng, exclude)
    assert not np.isin(question_keys(drawn), exclude).any()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=80),
    curricula(names=("naive", "mix", "combined")),
    st.integers(0, 2**32 - 1),
)
def test_a_fixed_set_feeds_only_rows_its_stage_allows(row_lengths, c, seed):
    row_lengths = np.array(row_lengths)
    stage = C.Stage(c, c.start)
    order = C.fixed_order(stage, row_lengths, np.random.default_rng(seed))
    assert len(order) == len(row_lengths)
    slots = stage.example_lengths(len(row_lengths), np.random.default_rng(seed))
    allowed = np.maximum(slots, row_lengths.min())
    assert (row_lengths[order] <= allowed).all()
    again = C.fixed_order(stage, row_lengths, np.random.default_rng(seed))
    assert np.array_equal(order, again)
    if c.name == "naive":  # every slot at one length: each allowed row before any twice
        rows = np.flatnonzero(row_lengths <= max(c.start, row_lengths.min()))
        counts = np.bincount(order, minlength=len(row_lengths))[rows]
        assert counts.min() >= len(order) // len(rows) and counts.max() - counts.min() <= 1


def test_without_a_curriculum_or_with_none_there_is_none():
    cfg = compose(["data=digits"])
    assert C.from_config(cfg.train, DIGITS) is None
    logged = OmegaConf.create(OmegaConf.to_container(cfg))  # as a run's logged config reads
    del logged.train["curriculum"]  # a run logged before curricula existed
    assert C.from_config(logged.train, DIGITS) is None
    validate(logged)
    start = compose(["data=digits", "train.curriculum.name=naive"])
    made = C.from_config(start.train, DIGITS)
    assert (made.name, made.start, made.shortest, made.longest) == ("naive", 1, 1, 4)


NAIVE = ["data=digits", "train.curriculum.name=naive"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.curriculum.name=naive"], "which data.operands=range does not draw"),
        (["data=digits", "train.curriculum.name=linear"], "choose one of: none, naive, mix,"),
        ([*NAIVE, "train.curriculum.start=4"], "train.curriculum.start=4 is out of range; it"),
        ([*NAIVE, "train.curriculum.start=0"], "in 1..3 (data.min_digits..data.max_digits)"),
        ([*NAIVE, "train.curriculum.threshold=0"], "threshold=0.0 is out of range; use (0, 1]"),
        ([*NAIVE, "train.curriculum.threshold=1.5"], "threshold=1.5 is out of range"),
        ([*NAIVE, "train.curriculum.step=0"], "train.curriculum.step=0 is out of range"),
        ([*NAIVE, "train.curriculum.mix_fraction=-0.1"], "mix_fraction=-0.1 is out of range"),
        ([*NAIVE, "train.curriculum.probe=0"], "train.curriculum.probe=0 is out of range"),
        (
            [*NAIVE, "train.curriculum.monitor=val/exact_match"],
            "choose one of: curriculum/exact_match, train/accuracy.",
        ),
        (
            [*NAIVE, "model=mlp", "train.curriculum.monitor=train/accuracy"],
            "choose one of: curriculum/exact_match.",
        ),
        (
            [*NAIVE, "eval.disjoint=true"],
            "at operand length 1, whose 100 problems are fewer than 10 x eval.examples=1000",
        ),
    ],
)
def test_a_curriculum_that_cannot_apply_is_refused_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as error:
        validate(compose(overrides))
    assert message in str(error.value)


@pytest.mark.parametrize(
    "overrides",
    [
        ["train=fixed", "train.examples=500", "train.curriculum.monitor=val/exact_match"],
        ["train.curriculum.start=3", "train.curriculum.name=combined"],
        ["eval.disjoint=true", "train.curriculum.start=3", "eval.examples=50"],
        ["train.curriculum.name=mix", "train.curriculum.threshold=1"],
    ],
)
def test_curricula_that_apply_are_accepted(overrides):
    validate(compose([*NAIVE, *overrides]))


# --- the training data of both regimes (NumPy, through the real pipeline) ---------------------


def _training(overrides: list[str]):
    from addexp.training.fit import Training
    from addexp.training.pipeline import build_pipeline, draw_test_set, training_streams

    cfg = compose(overrides)
    pipeline = build_pipeline(cfg)
    test, exclude = draw_test_set(cfg, pipeline.space)
    watched = np.unique(question_keys(test))
    return cfg, test, Training(pipeline, cfg.train, training_streams(cfg), watched, exclude)


def test_a_fresh_chunk_is_a_function_of_seed_epoch_index_and_the_epochs_length():
    from addexp.training.batches import draw_chunk

    cfg, _, training = _training(["data=digits", "train.curriculum.name=combined"])
    c = C.from_config(cfg.train, training.pipeline.space)
    space, streams = training.pipeline.space, training.streams

    def chunk(epoch: int, length: int):
        drawn = draw_chunk(space, 300, streams, None, epoch, 0, C.Stage(c, length))
        return question_keys(drawn)

    assert np.array_equal(chunk(2, 1), chunk(2, 1))
    assert not np.array_equal(chunk(2, 1), chunk(2, 2))  # the length is part of the draw
    assert not np.array_equal(chunk(2, 1), chunk(3, 1))
    at_one = draw_chunk(space, 300, streams, None, 0, 0, C.Stage(c, 1))
    long = C.problem_lengths(at_one) > 1
    assert 0.05 < long.mean() < 0.3  # combined: a 0.2 share mixed over 1..3, of which 2/3 long


# --- the real command: every curriculum in both regimes, and a resumed run ----------------------

BASE = [
    "data=digits",
    "data.max_digits=5",
    "train.epochs=3",
    "train.examples=48",
    "train.batch_size=16",
    "eval.examples=30",
    "eval.show=0",
    "model.encoder_units=[16]",
    "model.decoder_units=[16]",
    "tracking.log_model=false",
    "train.curriculum.probe=40",
    "train.curriculum.monitor=train/accuracy",  # a tiny model's exact match stays 0
    "train.curriculum.threshold=0.01",  # so the length grows, epoch after epoch
    "train.learning_rate=0.02",
]
EPOCHS = 3


def _job(regime: str, name: str) -> list[str]:
    return [f"train={regime}", f"train.curriculum.name={name}", *BASE]


def _history(client: MlflowClient, run_id: str, key: str) -> list[float]:
    logged = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
    assert [m.step for m in logged] == list(range(len(logged)))
    return [m.value for m in logged]


def _overlap(training, test, epochs: int, monitored: list[float]) -> float:
    """The test set's share of questions trained on in `epochs` epochs, redrawn from the seed
    and the schedule that `monitored` gives."""
    from addexp.training.fit import replay_seen_keys

    monitor = training.train.curriculum.monitor
    seen = replay_seen_keys(training, epochs, [{monitor: v} for v in monitored])
    return float(np.isin(question_keys(test), seen).mean())


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """One sweep, one process: naive, mix and combined in each regime, three epochs each; its
    launch folder, client and child runs by (regime, curriculum)."""
    folder = tmp_path_factory.mktemp("curricula")
    grid = ["train=fresh,fixed", "train.curriculum.name=naive,mix,combined"]
    done = addexp(["-m", *grid, *BASE], folder)
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    mlflow.set_tracking_uri(client.tracking_uri)
    runs = mlflow.search_runs(experiment_names=["addexp"])
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(children) == 6 and set(children["status"]) == {"FINISHED"}
    by_job = {
        (row["params.train.regime"], row["params.train.curriculum.name"]): row["run_id"]
        for _, row in children.iterrows()
    }
    return folder, client, by_job


@pytest.mark.slow  # one sweep of six trainings and a resumed one: about a minute on 2 cores
@pytest.mark.parametrize("regime", ["fresh", "fixed"])
@pytest.mark.parametrize("name", ["naive", "mix", "combined"])
def test_every_epoch_logs_the_length_it_trained_and_the_schedule_follows_the_rule(
    swept, regime, name
):
    _, client, by_job = swept
    run_id = by_job[regime, name]
    cfg, test, training = _training(_job(regime, name))
    c = C.from_config(cfg.train, training.pipeline.space)
    lengths = _history(client, run_id, C.LENGTH_METRIC)
    advanced = _history(client, run_id, C.ADVANCED_METRIC)
    accuracy = _history(client, run_id, "train/accuracy")
    assert len(lengths) == len(advanced) == len(accuracy) == EPOCHS
    probed = _history(client, run_id, C.PROBE_METRIC)
    if name == "mix":
        assert lengths == [5.0] * EPOCHS and advanced == [0.0] * EPOCHS and probed == []
    else:
        schedule = c.schedule(accuracy)
        assert lengths == schedule.lengths[:-1].tolist() and lengths[0] == 1.0
        assert advanced == schedule.advanced.astype(float).tolist() and sum(advanced) >= 1
        assert len(probed) == EPOCHS and all(0.0 <= v <= 1.0 for v in probed)
    run = client.get_run(run_id)
    assert run.data.params["curriculum.schedule"] == C.Progression(c, accuracy).describe()
    # the data trained on are those the seed and the schedule redraw: the same overlap
    overlap = _overlap(training, test, EPOCHS, accuracy)
    assert run.data.metrics["test/train_overlap"] == pytest.approx(overlap)


@pytest.mark.slow
def test_a_resumed_run_goes_on_with_the_schedule_where_it_stood(swept):
    folder, client, by_job = swept
    source = by_job["fresh", "naive"]
    more = [*_job("fresh", "naive"), "train.epochs=5"]
    resumed = addexp([*more, f"train.resume={source}"], folder)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    runs = mlflow.search_runs(experiment_names=["addexp"])
    run = runs[runs["tags.resumed_from"] == source].iloc[0]
    assert run["tags.resumed_epochs"] == str(EPOCHS)
    lengths = _history(client, run["run_id"], C.LENGTH_METRIC)
    accuracy = _history(client, run["run_id"], "train/accuracy")
    cfg, test, training = _training(more)
    c = C.from_config(cfg.train, training.pipeline.space)
    assert lengths[:EPOCHS] == _history(client, source, C.LENGTH_METRIC)  # copied over
    assert lengths == c.schedule(accuracy).lengths[:-1].tolist()  # one schedule throughout
    assert lengths[EPOCHS] == c.schedule(accuracy[:EPOCHS]).current > c.start  # where it stood
    advanced = _history(client, run["run_id"], C.ADVANCED_METRIC)
    assert advanced == c.schedule(accuracy).advanced.astype(float).tolist()
    assert run["params.curriculum.schedule"] == C.Progression(c, accuracy).describe()
    assert run["metrics.test/train_overlap"] == pytest.approx(_overlap(training, test, 5, accuracy))
