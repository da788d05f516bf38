"""`addexp-predict` and `addexp-eval` against runs trained into a real MLflow store.

Every model family and every format option is trained tiny (in one process, to keep the suite
fast); predicting a set's own questions must give back exactly the answers the run logged.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from addexp.cli import evaluate as evaluate_run
from addexp.cli import predict
from addexp.tracking.context import RunContext
from addexp.tracking.logged_run import open_run
from addexp.tracking.runner import run
from tests.conftest import TINY, addexp, addexp_predict, compose, logged_rows, predict_rows

# A decoder that reads its own answers, trained tiny, ends every answer at once; this much
# training (about 15 s more) makes it write digits, so what it writes can depend on the layout.
WRITES_ANSWERS = ["train.examples=2000", "train.epochs=3"]

# name -> overrides: together they cover every family, padding, reversal, encoding and masking.
RUNS = {
    "seq2seq_left_onehot_sets": ["+eval.sets.wide={digits: 3}", "+eval.sets.more={extra_terms: 1}"],
    "seq2seq_right_reversed_embedding": [
        "format.padding=right",
        "format.reverse_input=true",
        "format.reverse_output=true",
        "encoding=embedding",
    ],
    "seq2seq_per_term_integer_mask_loss": [
        "format.padding=per_term",
        "encoding=integer",
        "train.mask_loss=true",
        "data.operations=[+,//]",
    ],
    "seq2seq_unpadded_masked": [
        "format.padding=none",
        "encoding.masking=true",
        "data.max_terms=3",
    ],
    "teacher_forcing_gru_bidirectional_beam": [
        "model=teacher_forcing",
        "model.cell=gru",
        "model.bidirectional=true",
        "model.units=[16]",
        "model.beam_width=3",
        "model.recurrent_dropout=0.1",  # training only: decoding is deterministic
        "format.reverse_output=true",
        "+eval.sets.longer={digits: 4}",
        "+eval.sets.mixed={max_terms: 4}",  # 2 to 4 terms: one layout per term count
        *WRITES_ANSWERS,
    ],
    "attention_dot_unpadded_embedding": [
        "model=attention",
        "model.attention=dot",
        "model.units=[16,16]",
        "encoding=embedding",
        "encoding.masking=true",
        "format.padding=none",
        "+eval.sets.longer={digits: 3}",
        *WRITES_ANSWERS,
    ],
    "transformer_abacus_beam": [
        "model=transformer",
        "model.positions=abacus",
        "model.beam_width=3",
        "model.dim=16",
        "model.heads=2",
        "model.ff_dim=32",
        "model.dropout=0.1",  # training only: decoding is deterministic
        "format.reverse_input=true",
        "format.reverse_output=true",
        "+eval.sets.longer={digits: 4}",
        *WRITES_ANSWERS,
    ],
    "transformer_decoder_only_coupled_masked": [
        "model=transformer",
        "model.variant=decoder_only",
        "model.positions=coupled",
        "model.dim=16",
        "model.heads=2",
        "model.ff_dim=32",
        "model.layers=1",
        "format.position_hints=12",
        "format.reverse_output=true",
        "format.padding=none",
        "encoding.masking=true",
        "+eval.sets.longer={digits: 4}",
        *WRITES_ANSWERS,
    ],
    "tagger_aligned": [
        "model=tagger",
        "format=aligned",
        "model.dropout=0.1",
        "+eval.sets.long={digits: 12}",
        "+eval.sets.mixed={operands: digits, min_digits: 1, max_digits: 8}",
    ],
    "mapping_lstm_masked": ["model=mapping_lstm", "data.max_terms=3", "encoding.masking=true"],
    "mlp": ["model=mlp", "+eval.sets.bigger={largest: 20}"],
    "mlp_widened": ["model=mlp", "+eval.sets.wider={largest: 200}"],  # "200+200": a wider layout
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, str]:
    """Run ids of the tiny runs, all in one store (`uri` under key "_uri")."""
    folder = tmp_path_factory.mktemp("runs")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    ids = {"_uri": uri}
    for name, overrides in RUNS.items():
        cfg = compose([*TINY, "eval.examples=40", f"tracking.uri={uri}", *overrides])
        run(cfg, RunContext(launch_dir=folder, output_dir=folder / name, run_name=name))
        mlflow.set_tracking_uri(uri)
        ids[name] = mlflow.search_runs(
            experiment_names=["addexp"], filter_string=f"run_name = '{name}'"
        ).run_id[0]
    return ids


def _sets(name: str) -> list[tuple[str, str]]:
    """(artifact, metric prefix) of every set a run logged."""
    sets = [("predictions.csv", "test")]
    for entry in RUNS[name]:
        if entry.startswith("+eval.sets."):
            set_name = entry.removeprefix("+eval.sets.").split("=")[0]
            sets.append((f"predictions/{set_name}.csv", set_name))
    return sets


@pytest.mark.parametrize("name", sorted(RUNS))
def test_predict_reproduces_what_the_run_logged(trained, tmp_path, name, capsys):
    uri, run_id = trained["_uri"], trained[name]
    metrics = MlflowClient(uri).get_run(run_id).data.metrics
    for artifact, prefix in _sets(name):
        rows = logged_rows(uri, run_id, artifact, tmp_path)
        code, predicted = predict_rows(uri, run_id, rows, tmp_path / f"{prefix}_out.csv")
        assert code == 0, capsys.readouterr().err
        assert [p["predicted"] for p in predicted] == [r["predicted"] for r in rows]
        assert [p["correct"] for p in predicted] == [r["correct"] for r in rows]
        exact = sum(p["correct"] == "True" for p in predicted) / len(predicted)
        assert exact == pytest.approx(metrics[f"{prefix}/exact_match"])
        assert f"exact_match {exact:.4f}" in capsys.readouterr().err


# Runs of families that read any length -> questions far longer than trained, or of more terms.
LONGER = {
    "seq2seq_left_onehot_sets": ["123456789012345678901234567890+98765", "1+2+3+4+5"],
    "teacher_forcing_gru_bidirectional_beam": ["123456789012345678901234567890+9", "1+2+3+4"],
    "attention_dot_unpadded_embedding": ["98765432109876543210+1", "10+9+8+7+6"],
    "tagger_aligned": ["123456789012345678901234567890+98765", "99999999999+1"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LONGER))
def test_an_answer_is_the_same_alone_and_asked_with_longer_questions(
    trained, tmp_path, name, capsys
):
    uri, run_id = trained["_uri"], trained[name]
    short = [r["input"] for r in logged_rows(uri, run_id, "predictions.csv", tmp_path)[:3]]
    short.append("12+7")  # just beyond the trained operands (1..10): a layout of its own
    alone = []
    for question in short:
        assert predict.main(["--run", run_id, "--uri", uri, "--format", "json", question]) == 0
        alone.append(json.loads(capsys.readouterr().out)[0]["predicted"])
    first, *rest = LONGER[name]
    asked = [first, *short, *rest]
    result = addexp_predict(["--run", run_id, "--uri", uri, "--format", "json", *asked])
    assert result.returncode == 0, result.stderr[-2000:]
    together = json.loads(result.stdout)
    assert [row["question"] for row in together] == asked
    assert [row["predicted"] for row in together[1 : 1 + len(short)]] == alone
    assert "retracing" not in result.stderr  # a shape per layout and beam is expected


# Runs with an evaluation set `mixed` of several layouts -> what a question's layout follows.
MIXED = {
    "teacher_forcing_gru_bidirectional_beam": lambda q: q.count("+") + 1,  # terms
    "tagger_aligned": lambda q: max(len(term) for term in q.split("+")),  # widest operand
}


@pytest.mark.parametrize("name", sorted(MIXED))
def test_a_set_of_mixed_layouts_scores_each_question_as_it_would_alone(
    trained, tmp_path, name, capsys
):
    uri, run_id = trained["_uri"], trained[name]
    logged = MlflowClient(uri).get_run(run_id).data.metrics
    rows = logged_rows(uri, run_id, "predictions/mixed.csv", tmp_path)
    parts: dict[int, list[dict]] = {}
    for row in rows:
        parts.setdefault(MIXED[name](row["input"]), []).append(row)
    assert len(parts) > 1
    char_accuracy = 0.0
    for key, part in parts.items():
        questions, out = tmp_path / f"part{key}.csv", tmp_path / f"part{key}_out.csv"
        with questions.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["question", "answer"])
            writer.writerows([r["input"], r["expected"]] for r in part)
        args = ["--run", run_id, "--uri", uri, "--file", str(questions), "--format", "csv"]
        assert predict.main([*args, "--out", str(out)]) == 0
        summary = capsys.readouterr().err
        with out.open() as handle:
            predicted = list(csv.DictReader(handle))
        assert [p["predicted"] for p in predicted] == [r["predicted"] for r in part]
        assert [p["correct"] for p in predicted] == [r["correct"] for r in part]
        char_accuracy += (
            len(part) / len(rows) * float(summary.split("char_accuracy ")[1].split()[0])
        )
        one = part[-1]  # and one question of the part entirely alone
        assert predict.main(["--run", run_id, "--uri", uri, "--format", "json", one["input"]]) == 0
        assert json.loads(capsys.readouterr().out)[0]["predicted"] == one["predicted"]
    # each question scored over its own layout's width, questions weighing alike
    assert logged["mixed/char_accuracy"] == pytest.approx(char_accuracy, abs=1e-4)
    assert logged["mixed/exact_match"] == pytest.approx(
        sum(r["correct"] == "True" for r in rows) / len(rows)
    )


def test_attention_maps_are_logged_and_weigh_only_the_question(trained):
    """The logged plot, and what it draws: per answer step written, weights over the question's
    steps that sum to 1 and leave the masked padding at 0, beside the greedy answers."""
    from addexp.models import recurrent
    from addexp.problems.sampling import sample
    from addexp.tracking.logged_run import open_run

    uri, run_id = trained["_uri"], trained["attention_dot_unpadded_embedding"]
    paths = {a.path for a in MlflowClient(uri).list_artifacts(run_id, "attention")}
    assert paths == {"attention/maps.png"}
    logged = open_run(run_id, uri)
    model, framing = logged.load_model(), logged.pipeline.framing
    problems = sample(logged.pipeline.space, 32, np.random.default_rng(0))
    tokens, weights = recurrent.attention_maps(model, framing, problems)
    questions = framing.question_inputs(problems)  # (n, steps) symbol indices, 0 the padding
    assert weights.shape == (32, tokens.shape[1], questions.shape[1])
    np.testing.assert_allclose(weights.sum(axis=2), 1.0, atol=1e-5)
    padding = questions == 0
    assert padding.any() and (weights * padding[:, None, :]).max() < 1e-6
    greedy = logged.pipeline.family.decode(model, framing, problems, 64)
    width = framing.text_format.answer_width + 1  # the search stops once every row wrote END
    written = np.pad(tokens, ((0, 0), (0, width - tokens.shape[1])))
    assert (framing.answers_from_tokens(written).chars == greedy.chars).all()


def test_beam_search_on_a_trained_model_is_greedy_at_width_one_and_never_worse(trained):
    from addexp.framing.base import END, START
    from addexp.models import recurrent
    from addexp.models.search import beam, greedy
    from addexp.problems.sampling import sample
    from addexp.tracking.logged_run import open_run

    logged = open_run(trained["teacher_forcing_gru_bidirectional_beam"], trained["_uri"])
    model, framing = logged.load_model(), logged.pipeline.framing
    problems = sample(logged.pipeline.space, 64, np.random.default_rng(3))
    nets = recurrent.inference_models(model)
    states = recurrent.encoder_states(nets, framing.question_inputs(problems))

    def step(tokens, state):
        outputs = [np.asarray(o) for o in nets.step([tokens[:, None], *state])]
        return np.log(np.maximum(outputs[0][:, 0, :], 1e-30)), outputs[1:]

    symbols = framing.alphabet.symbols
    args = (step, states, symbols.index(START), symbols.index(END), 0, 4)
    g_tokens, g_score = greedy(*args)
    one_tokens, one_score = beam(*args, 1)
    assert (one_tokens == g_tokens).all() and (one_score == g_score).all()
    _, wide_score = beam(*args, 4)
    assert (wide_score >= g_score).all()


@pytest.mark.slow
def test_predict_command_answers_typed_questions(trained, tmp_path):
    uri, run_id = trained["_uri"], trained["seq2seq_right_reversed_embedding"]
    result = addexp_predict(["--run", f"runs:/{run_id}/model", "--uri", uri, "3+4", " 10 + 2 "])
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert [line.split(" ")[0] for line in lines] == ["3+4", "10+2"]  # as typed, spaces dropped
    assert all(line.split(" ")[1].lstrip("-").isdigit() for line in lines)
    assert "go beyond" not in result.stderr  # both within the training space
    as_json = addexp_predict(["--run", run_id, "--uri", uri, "--format", "json", "3+4"])
    assert json.loads(as_json.stdout)[0]["question"] == "3+4"


@pytest.mark.slow
def test_predict_names_the_questions_beyond_the_training_space(trained):
    uri, run_id = trained["_uri"], trained["seq2seq_right_reversed_embedding"]
    result = addexp_predict(["--run", run_id, "--uri", uri, "3+4", "12+3", "0+5"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.stdout.strip().splitlines()) == 3  # answered all the same
    note = "2 of 3 questions go beyond what the run trained on (operands 1..10, 2 terms): "
    assert note + "'12+3', '0+5'; their answers test generalisation." in result.stderr


@pytest.mark.slow
def test_predict_reads_the_store_named_by_uri_from_any_folder(trained, tmp_path):
    uri, run_id = trained["_uri"], trained["seq2seq_right_reversed_embedding"]
    result = addexp_predict(["--run", run_id, "--uri", uri, "3+4"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[0] == "3+4"
    assert not (tmp_path / "mlflow.db").exists()  # no store made where it was started


MALFORMED = {
    "": "an empty question",
    "12++3": "a sign or operator has no left operand",
    "+5": "a sign or operator has no left operand",
    "12+": "is malformed",
    "+": "holds no number",
    "12+x": "holds 'x': a question is written with digits, brackets and the operators",
    "5%3": "holds '%'",  # no operation of the table is written with it
    "8/2": "'/' is not an operator addexp knows",  # floor division is //
    "07+1": "leading zero",
    "1 2+3": "digits separated by a space",
    "5//0": "divides by zero",  # no answer, whatever the run
}


@pytest.mark.parametrize(("question", "message"), list(MALFORMED.items()))
def test_a_question_the_run_cannot_take_is_one_line_and_exit_2(trained, question, message, capsys):
    uri, run_id = trained["_uri"], trained["seq2seq_left_onehot_sets"]
    assert predict.main(["--run", run_id, "--uri", uri, question]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("run", "question", "message"),
    [
        ("seq2seq_per_term_integer_mask_loss", "5//0", "divides by zero"),
        # a question is refused for the kind a set holding it would be (framing.reach)
        ("seq2seq_left_onehot_sets", "(1+2)*3", "needs the symbols '()*', which the training"),
        ("seq2seq_per_term_integer_mask_loss", "8-3", "needs the symbols '-', which the"),
        ("mlp", "5-3", "asks more than sums; the run"),
        ("mlp", "(1+2)", "asks more than sums; the run"),
        ("mlp", "1+2+3", "has 3 terms; the run reads at most 2"),
        ("mlp", "99999+1", "is 7 characters as the run writes it; the run reads at most 5"),
        ("mlp", "9+99", "has an answer of 3 characters; the run writes at most 2"),
        ("tagger_aligned", "1+2+3", "has 3 terms; the run reads at most 2"),
    ],
)
def test_questions_beyond_what_the_run_reads_are_refused(trained, run, question, message, capsys):
    uri = trained["_uri"]
    assert predict.main(["--run", trained[run], "--uri", uri, question]) == 2
    assert message in capsys.readouterr().err


def test_a_run_s_own_predictions_file_reads_as_is_and_other_csvs_need_a_question(
    trained, tmp_path, capsys
):
    uri, run_id = trained["_uri"], trained["mlp"]
    path = Path(MlflowClient(uri).download_artifacts(run_id, "predictions.csv", str(tmp_path)))
    assert predict.main(["--run", run_id, "--uri", uri, "--file", str(path)]) == 0
    assert "exact_match" in capsys.readouterr().err
    other = tmp_path / "other.csv"
    other.write_text("sum,value\n1+2,3\n")
    assert predict.main(["--run", run_id, "--uri", uri, "--file", str(other)]) == 2
    assert "a CSV needs a `question` column" in capsys.readouterr().err
    out = tmp_path / "missing" / "out.csv"
    assert predict.main(["--run", run_id, "--uri", uri, "1+2", "--out", str(out)]) == 2
    assert f"--out {out}: No such file or directory" in capsys.readouterr().err


def test_a_store_that_does_not_answer_is_named_at_once(trained, capsys):
    import socket
    import time

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    start = time.monotonic()
    assert predict.main(["--run", "abc", "--uri", f"http://127.0.0.1:{port}", "1+2"]) == 2
    assert time.monotonic() - start < 30
    assert f"--uri http://127.0.0.1:{port}" in capsys.readouterr().err


def test_unknown_run_or_store_names_the_store(trained, tmp_path, capsys):
    uri = trained["_uri"]
    assert predict.main(["--run", "0" * 32, "--uri", uri, "1+2"]) == 2
    assert f"does not exist in the store {uri}" in capsys.readouterr().err
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert predict.main(["--run", "abc", "--uri", missing, "1+2"]) == 2
    assert f"no MLflow store at {missing}" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_run_last_names_the_newest_run_addexp_trained(trained, tmp_path, capsys):
    """`--run last`: the newest finished run of any experiment; an open run, a sweep's parent
    (no `model` tag) and a store without addexp's runs are passed over or refused."""
    uri, newest = trained["_uri"], list(RUNS)[-1]
    client = MlflowClient(uri)
    other = client.create_experiment(f"other-{tmp_path.name}")
    client.set_terminated(client.create_run(other, run_name="parent").info.run_id)
    client.create_run(other, run_name="open", tags={"model": "mlp"})  # RUNNING
    assert predict.main(["--run", "last", "--uri", uri, "3+4"]) == 0
    assert capsys.readouterr().out.startswith("3+4 ")
    assert open_run("last", uri).run_id == trained[newest]
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    MlflowClient(empty).search_experiments()  # an empty store: MLflow's tables only
    assert predict.main(["--run", "last", "--uri", empty, "1+2"]) == 2
    assert f"the store {empty} holds no finished run trained by addexp" in capsys.readouterr().err


def test_a_typed_question_through_the_real_command_fails_cleanly(trained):
    uri, run_id = trained["_uri"], trained["seq2seq_left_onehot_sets"]
    result = addexp_predict(["--run", run_id, "--uri", uri, "12++3"])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "addexp-predict: question '12++3' is malformed" in result.stderr


RUN = ["--run", "{run}", "--uri", "{uri}"]
READING = {  # each reading command: doing its work (status 0) and refusing (status 2)
    "addexp-predict": ([*RUN, "12+50", "7+10"], [*RUN, "12++3"]),
    "addexp-eval": (
        [*RUN, "+eval.sets.d2={digits: 2}", "eval.examples=20"],
        [*RUN, "train.epochs=3"],
    ),
    "addexp-compare": (["--no-log", "--uri", "{uri}"], ["--uri", "{uri}", "--metric", "x"]),
    "addexp-runs": (["--uri", "{uri}"], ["--uri", "{uri}", "--experiment", "nope"]),
}


@pytest.mark.parametrize("program", sorted(READING))
def test_a_reading_command_ends_with_its_work_and_leaves_no_temporary_file(
    trained, tmp_path, program
):
    uri, run_id = trained["_uri"], trained["seq2seq_unpadded_masked"]
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    for args, status in zip(READING[program], (0, 2), strict=True):
        args = [{"{run}": run_id, "{uri}": uri}.get(a, a) for a in args]
        done = addexp_predict(args, tmp_path, program, {"TMPDIR": str(temporary)})
        assert done.returncode == status, done.stderr
        assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
        assert list(temporary.iterdir()) == [], [p.name for p in temporary.iterdir()]


def test_predict_writes_into_a_closed_pipe_quietly(trained, tmp_path):
    uri, run_id = trained["_uri"], trained["seq2seq_unpadded_masked"]
    exe = Path(sys.executable).with_name("addexp-predict")
    questions = " ".join(f"{a}+{a}" for a in range(1, 9000))  # > a pipe's 64 KiB
    done = subprocess.run(
        f"{exe} --run {run_id} --uri {uri} {questions} | head -1",
        shell=True, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.stdout.startswith("1+1 "), done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_eval_adds_sets_to_a_finished_run_without_touching_its_params(trained, capsys):
    uri, run_id = trained["_uri"], trained["seq2seq_right_reversed_embedding"]
    client = MlflowClient(uri)
    before = client.get_run(run_id)
    code = evaluate_run.main(["--run", run_id, "--uri", uri, "eval=length", "eval.examples=30"])
    assert code == 0, capsys.readouterr().err
    after = client.get_run(run_id)
    assert after.info.status == "FINISHED"
    assert after.data.params == before.data.params
    for name in ("length_x1", "length_x2", "length_x4", "length_x10"):
        for metric in ("exact_match", "char_accuracy", "rmse", "invalid_rate", "seconds"):
            assert f"{name}/{metric}" in after.data.metrics
        assert after.data.metrics[f"{name}/train_overlap"] <= 1
    assert after.data.metrics["test/exact_match"] == before.data.metrics["test/exact_match"]
    added = [k for k in after.data.tags if k.startswith("eval.added.")]
    assert len(added) == 1 and "length_x10" in after.data.tags[added[0]]
    artifacts = {a.path for a in client.list_artifacts(run_id, "breakdown")}
    assert "breakdown/length_x10.png" in artifacts and "breakdown/length_x10.csv" in artifacts


def test_eval_decodes_a_run_anew_with_a_wider_beam_beside_its_own_metrics(trained, capsys):
    uri, run_id = trained["_uri"], trained["teacher_forcing_gru_bidirectional_beam"]
    args = ["--run", run_id, "--uri", uri, "+eval.sets.d3={digits: 3}", "eval.examples=30"]
    assert evaluate_run.main([*args, "model.beam_width=1"]) == 0, capsys.readouterr().err
    client = MlflowClient(uri)
    run = client.get_run(run_id)
    assert 0 <= run.data.metrics["beam1/d3/exact_match"] <= 1
    assert "d3/exact_match" not in run.data.metrics
    assert run.data.params["model.beam_width"] == "3"  # the run's own config is untouched
    paths = {a.path for a in client.list_artifacts(run_id, "predictions/beam1")}
    assert paths == {"predictions/beam1/d3.csv"}
    mlp = trained["mlp"]
    assert evaluate_run.main(["--run", mlp, "--uri", uri, "eval=terms", "model.beam_width=2"]) == 2
    assert "has no model.beam_width" in capsys.readouterr().err


def test_predict_decodes_with_the_beam_width_eval_logged_with(trained, tmp_path, capsys):
    """`addexp-predict --beam-width N` answers as `addexp-eval model.beam_width=N` logged."""
    uri, run_id = trained["_uri"], trained["teacher_forcing_gru_bidirectional_beam"]
    args = ["--run", run_id, "--uri", uri, "+eval.sets.wide={digits: 2}", "eval.examples=40"]
    assert evaluate_run.main([*args, "model.beam_width=2"]) == 0, capsys.readouterr().err
    rows = logged_rows(uri, run_id, "predictions/beam2/wide.csv", tmp_path)
    code, predicted = predict_rows(uri, run_id, rows, tmp_path / "out.csv", "--beam-width", "2")
    assert code == 0, capsys.readouterr().err
    assert [p["predicted"] for p in predicted] == [r["predicted"] for r in rows]
    mlp = trained["mlp"]
    assert predict.main(["--run", mlp, "--uri", uri, "--beam-width", "2", "1+2"]) == 2
    assert "model=mlp has no model.beam_width; it decodes in one pass." in capsys.readouterr().err
    for width in ("0", "abc"):
        with pytest.raises(SystemExit) as exit_:
            predict.main(["--run", run_id, "--uri", uri, "--beam-width", width, "1+2"])
        assert exit_.value.code == 2
        said = capsys.readouterr().err
        assert f"--beam-width: {width}: a beam width is an integer >= 1" in said


def test_eval_refuses_keys_outside_eval_and_sets_a_fixed_layout_cannot_read(trained, capsys):
    uri = trained["_uri"]
    run_id = trained["seq2seq_left_onehot_sets"]
    assert evaluate_run.main(["--run", run_id, "--uri", uri, "train.epochs=3"]) == 2
    assert "changes only the evaluation" in capsys.readouterr().err
    assert (
        evaluate_run.main(["--run", run_id, "--uri", uri, "+eval.sets.neg={operations: [-]}"]) == 2
    )
    assert "never shows" in capsys.readouterr().err
    mlp = trained["mlp"]
    assert evaluate_run.main(["--run", mlp, "--uri", uri, "eval=length"]) == 2
    assert "reads only the fixed layout it was trained with" in capsys.readouterr().err


def test_eval_reads_narrower_sets_in_the_fixed_layout_a_run_was_trained_with(trained, capsys):
    uri, mlp = trained["_uri"], trained["mlp_widened"]
    client = MlflowClient(uri)
    logged = client.get_run(mlp).data.metrics["wider/exact_match"]
    narrow = "+eval.sets.narrow={largest: 5}"  # alone it would make a narrower layout
    assert evaluate_run.main(["--run", mlp, "--uri", uri, narrow]) == 0, capsys.readouterr().err
    assert "narrow/exact_match" in client.get_run(mlp).data.metrics
    again = ["eval.examples=40", "+eval.sets.wider={largest: 200}"]
    assert evaluate_run.main(["--run", mlp, "--uri", uri, *again]) == 0, capsys.readouterr().err
    history = client.get_metric_history(mlp, "wider/exact_match")
    assert [m.value for m in history] == [logged, logged]  # the same draw, read the same way
    wider = "+eval.sets.widest={largest: 2000}"
    assert evaluate_run.main(["--run", mlp, "--uri", uri, wider]) == 2
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "eval.sets.widest has questions of up to 9 characters" in said


@pytest.mark.slow
def test_the_run_command_logs_every_set(tmp_path):
    result = addexp([*TINY, "eval=terms", "eval.examples=30"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = mlflow.search_runs(experiment_names=["addexp"]).iloc[0]
    for name in ("test", "terms_plus1", "terms_plus2"):
        assert 0 <= run[f"metrics.{name}/exact_match"] <= 1
    client = MlflowClient()
    paths = {a.path for a in client.list_artifacts(run.run_id, "predictions")}
    assert paths == {"predictions/terms_plus1.csv", "predictions/terms_plus2.csv"}
    rows = logged_rows(client.tracking_uri, run.run_id, "predictions/terms_plus2.csv", tmp_path)
    assert all(r["input"].count("+") == 3 for r in rows)  # 2 trained terms + 2
    table = logged_rows(client.tracking_uri, run.run_id, "breakdown/terms_plus2.csv", tmp_path)
    assert {r["axis"] for r in table} == {"digits", "carries", "carry_chain"}


def _question_model(uri: str, run_id: str):
    mlflow.set_tracking_uri(uri)
    return mlflow.pyfunc.load_model(f"runs:/{run_id}/model")


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_logged_model_answers_in_text_as_the_run_logged(trained, tmp_path, name):
    # MLflow's own loader, nothing of addexp's readers: the questions of every set the run
    # logged, as a list and as a DataFrame, give back the run's own answers
    import pandas as pd

    uri, run_id = trained["_uri"], trained[name]
    model = _question_model(uri, run_id)
    searches = "beam_width" in open_run(run_id, uri).cfg.model
    for artifact, _ in _sets(name):
        rows = logged_rows(uri, run_id, artifact, tmp_path)
        questions = [r["input"] for r in rows]
        answered = model.predict(questions)
        assert answered["question"].tolist() == questions
        assert answered["answer"].tolist() == [r["predicted"] for r in rows]
        framed = model.predict(pd.DataFrame({"question": questions}))
        assert framed.equals(answered)
        assert ("log_probability" in answered) is searches
        if searches:
            assert (answered["log_probability"] <= 0).all()


def test_the_logged_model_searches_as_asked_and_refuses_what_the_run_cannot_take(trained):
    from mlflow.exceptions import MlflowException

    uri = trained["_uri"]
    run_id = trained["teacher_forcing_gru_bidirectional_beam"]
    model = _question_model(uri, run_id)
    questions = ["12+34", "5+67", "99+99", "3+4"]
    for width in (1, 3, 5):
        answered = model.predict(questions, params={"beam_width": width})
        args = ["--run", run_id, "--uri", uri, "--beam-width", str(width), "--format", "json"]
        code, rows = _predict_json([*args, *questions])
        assert code == 0 and answered["answer"].tolist() == [r["predicted"] for r in rows]
    asked = model.predict(["3+4", "99+99"])  # the training space: two terms in 1..10
    assert asked["beyond_training"].tolist() == [False, True]
    greedy = model.predict(questions, params={"beam_width": 1})["log_probability"]
    wider = model.predict(questions, params={"beam_width": 5})["log_probability"]
    assert (wider >= greedy - 1e-9).all()  # a wider beam never ends less probable
    with pytest.raises(MlflowException, match=r"question '1\+x'") as refused:
        model.predict(["3+4", "1+x"])
    assert refused.value.get_http_status_code() == 400
    with pytest.raises(MlflowException, match="a beam width is an integer >= 1"):
        model.predict(questions, params={"beam_width": 0})
    one_pass = _question_model(uri, trained["mlp"])
    assert "log_probability" not in one_pass.predict(["3+4"])


def _predict_json(args: list[str]) -> tuple[int, list[dict]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = predict.main(args)
    return code, json.loads(out.getvalue()) if code == 0 else []


def test_a_run_logged_with_the_keras_flavour_is_still_read(trained, tmp_path):
    # runs logged before the question model carry MLflow's Keras flavour under `model`
    uri, source = trained["_uri"], trained["seq2seq_left_onehot_sets"]
    keras_model = open_run(source, uri).load_model()
    client = MlflowClient(uri)
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=client.get_run(source).info.experiment_id) as older:
        for artifact in ("config/resolved.yaml", "config/layout.json"):
            mlflow.log_artifact(
                client.download_artifacts(source, artifact, str(tmp_path)), "config"
            )
        mlflow.keras.log_model(keras_model, name="model")
    rows = logged_rows(uri, source, "predictions.csv", tmp_path)
    code, answered = _predict_json(
        ["--run", older.info.run_id, "--uri", uri, "--format", "json", *(r["input"] for r in rows)]
    )
    assert code == 0 and [a["predicted"] for a in answered] == [r["predicted"] for r in rows]
