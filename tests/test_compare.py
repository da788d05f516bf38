"""The comparison program groups real MLflow runs and aggregates a metric over seeds."""

from __future__ import annotations

import mlflow
import pytest

from addexp.cli.compare import aggregate, load_runs, main, varying_keys


@pytest.fixture
def populated(store):
    """Six finished runs (2 settings x 3 seeds) and one failed run, in a real SQLite store."""
    mlflow.set_tracking_uri(store)
    exp = mlflow.create_experiment("cmp")
    for masking, scores in (("false", [0.5, 0.7, 0.6]), ("true", [0.9, 0.8, 1.0])):
        for seed, value in enumerate(scores, start=1):
            with mlflow.start_run(experiment_id=exp, tags={"preset": "ext_masking"}):
                mlflow.log_params({"seed": seed, "encoding.masking": masking, "data.terms": 2})
                mlflow.log_metric("test/exact_match", value)
                mlflow.log_metric("length_x2/exact_match", value / 10)
    with mlflow.start_run(experiment_id=exp, tags={"preset": "ext_masking"}):
        mlflow.log_params({"seed": 9, "encoding.masking": "true", "data.terms": 2})
        mlflow.log_metric("test/exact_match", 0.0)
        mlflow.end_run(status="FAILED")
    sweep_parent = {"preset": "ext_masking", "sweep.keys": "encoding.masking,seed"}
    with mlflow.start_run(experiment_id=exp, tags=sweep_parent):
        mlflow.log_metric("best/test/exact_match", 1.0)
    return store


def test_groups_by_swept_keys_and_aggregates_over_seeds(populated):
    runs = load_runs(populated, "cmp")
    assert len(runs) == 6  # the failed run and the sweep's parent are left out
    assert varying_keys(runs) == ["encoding.masking"]
    rows = aggregate(runs, ["tags.preset", "encoding.masking"], "test/exact_match")
    assert [(r["encoding.masking"], r["n"]) for r in rows] == [("false", 3), ("true", 3)]
    assert rows[0]["median"] == pytest.approx(0.6) and rows[1]["median"] == pytest.approx(0.9)
    assert rows[0]["min"] == pytest.approx(0.5) and rows[1]["max"] == pytest.approx(1.0)
    assert rows[1]["std"] == pytest.approx(0.1)


def test_command_prints_markdown_and_csv(populated, capsys):
    assert main(["--uri", populated, "--experiment", "cmp"]) == 0
    out = capsys.readouterr().out
    assert "| tags.preset | encoding.masking | n | median |" in out
    assert "| ext_masking | true | 3 | 0.9000 | 0.8000 | 1.0000 |" in out
    main(["--uri", populated, "--experiment", "cmp", "--format", "csv", "--group-by", "data.terms"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "data.terms,n,median,min,max,mean,std"
    assert lines[2].startswith("2,6,0.7500,0.5000,1.0000,0.7500,")


def test_several_metrics_make_one_block_of_rows_each(populated, capsys):
    metrics = ["test/exact_match", "length_x2/exact_match"]
    assert main(["--uri", populated, "--experiment", "cmp", "--metric", *metrics]) == 0
    out = capsys.readouterr().out
    assert "| metric | tags.preset | encoding.masking | n | median |" in out
    assert "| test/exact_match | ext_masking | true | 3 | 0.9000 |" in out
    assert "| length_x2/exact_match | ext_masking | false | 3 | 0.0600 |" in out


def test_unknown_experiment_is_a_clear_error(populated):
    with pytest.raises(SystemExit, match="no experiment named 'nope'"):
        main(["--uri", populated, "--experiment", "nope"])


def test_a_filter_mlflow_cannot_read_is_one_line_and_exit_2(populated, capsys):
    args = ["--uri", populated, "--experiment", "cmp", "--filter", "params.seed = 1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("addexp-compare: --filter 'params.seed = 1': Expected a quoted string")
    assert len(err.strip().splitlines()) == 1
    assert main([*args[:-1], "metrics.`test/exact_match` > 0.95"]) == 0
    assert "over 1 run, grouped by" in capsys.readouterr().out


def test_child_names_say_what_was_swept():
    from addexp.sweeps.callback import child_name
    from addexp.sweeps.plan import swept_keys

    keys = swept_keys(["seed=1,2", "train.batch_size=10,32", "data.terms=3"], None)
    assert keys == ["seed", "train.batch_size"]
    job = ["seed=2", "train.batch_size=32", "data.terms=3"]
    assert child_name(job, keys) == "seed=2,train.batch_size=32"
    search = swept_keys(["data.terms=3"], {"train.learning_rate": "interval(0.001, 0.1)"})
    assert search == ["train.learning_rate"]
    assert child_name(["train.learning_rate=0.0023284358298935864"], search) == (
        "train.learning_rate=0.002328"
    )
    assert child_name(["seed=3", "data.terms=3"], []) == ""  # the name of a single run


def test_a_parent_is_named_by_its_id_or_its_run_name_and_anything_else_is_refused(tmp_path):
    from mlflow.tracking import MlflowClient

    from addexp.cli.compare import main as compare_main
    from addexp.cli.compare import parent_id

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("addexp")
    sweep = client.create_run(experiment, run_name="sweep x: seed", tags={"sweep.keys": "seed"})
    client.create_run(experiment, run_name="seed=1", tags={"mlflow.parentRunId": "p"})
    assert parent_id(uri, sweep.info.run_id) == sweep.info.run_id
    assert parent_id(uri, "sweep x: seed") == sweep.info.run_id
    with pytest.raises(LookupError, match=r"is no sweep's run id or name .*'sweep x: seed'"):
        parent_id(uri, "seed=1")  # a child, not a sweep
    with pytest.raises(LookupError, match="no run with this id"):
        parent_id(uri, "0" * 32)
    client.create_run(experiment, run_name="sweep x: seed", tags={"sweep.keys": "seed"})
    with pytest.raises(LookupError, match="names more than one sweep"):
        parent_id(uri, "sweep x: seed")
    assert compare_main(["--uri", uri, "--parent", "482e9cfb"]) == 2


def test_the_commands_that_read_runs_never_create_a_store(tmp_path, capsys, monkeypatch):
    from addexp.cli import runs
    from addexp.cli.compare import main as compare_main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # set by MLflow for earlier tests
    for command, program in ((compare_main, "addexp-compare"), (runs.main, "addexp-runs")):
        for uri in ([], ["--uri", "sqlite:///nosuch.db"]):
            assert command(uri) == 2
            said = capsys.readouterr().err
            assert said.startswith(f"{program}: no MLflow store at sqlite:///"), said
    assert list(tmp_path.iterdir()) == []


def test_a_group_key_or_metric_no_run_holds_is_named_with_what_is_close():
    from addexp.cli.compare import _unknown

    runs = [
        {"params": {"train.batch_size": "16", "eval.sets.wide.digits": "3"},
         "tags": {"preset": "p"}, "metrics": {"test/exact_match": 1.0}},
    ]  # fmt: skip
    assert _unknown(runs, ["train.batch_size", "eval.sets.wide", "tags.preset"], []) is None
    assert "did you mean train.batch_size" in _unknown(runs, ["++train.batch_size"], [])
    assert _unknown(runs, ["tags.presets"], []) == (
        "--group-by tags.presets: no run here has this key; did you mean tags.preset?"
    )
    assert "did you mean test/exact_match?" in _unknown(runs, [], ["test/exact_mach"])
    assert _unknown([], ["nosuch"], ["nosuch"]) is None  # no runs: the table says so
