"""Position hints (`format.position_hints`): the hint arrays (property tests), that hints off
change nothing, tiny real trainings through `addexp` read back by `addexp-predict` and
`addexp-eval`, and the configurations refused before anything trains."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from addexp.cli import evaluate as evaluate_run
from addexp.cli import predict
from addexp.framing.base import START, alphabet_for
from addexp.framing.encoding import encode_inputs
from addexp.framing.layouts import layouts_for
from addexp.framing.sequence import AutoregressiveFraming, Seq2SeqFraming
from addexp.problems.questions import parse_questions
from addexp.problems.sampling import sample
from addexp.problems.space import Problems, ProblemSpace
from addexp.text.formats import PADDINGS, TextFormat
from addexp.text.hints import NO_TAG, digit_places, question_hash
from addexp.tracking.logged_run import open_run
from tests.conftest import TINY, addexp, addexp_predict, compose, logged_rows, predict_rows
from tests.strategies import spaces


def _framing(
    space: ProblemSpace,
    hints: int,
    padding: str = "left",
    reverse_input: bool = False,
    autoregressive: bool = False,
    encoding: str = "onehot",
):
    fmt = TextFormat.for_spaces([space], padding, reverse_input, autoregressive)
    kind = AutoregressiveFraming if autoregressive else Seq2SeqFraming
    alphabet = alphabet_for(space, autoregressive)
    return kind(fmt, alphabet, encoding, padding == "none", space=space, position_hints=hints)


def _hint_places(framing, problems: Problems) -> np.ndarray:
    """(n,) tags each question needs, counted on its text as the layout writes it (the widest
    operand's places, one per tagged answer step if more): the measure `places_for` must meet."""
    text = framing.text_format.questions(problems)
    places = digit_places(text, framing.text_format.reverse_input).max(axis=1, initial=NO_TAG)
    return framing.places_for(places + 1)


def _question_features(framing, problems: Problems) -> np.ndarray:
    x = framing.inputs(problems)
    return x["question"] if isinstance(x, dict) else x


def _tags(framing, features: np.ndarray) -> np.ndarray:
    """(n, steps) the one hint each question step's features hold (NO_TAG: none), checking
    that no step holds more than one."""
    hints = features[..., -framing.position_hints :]
    assert set(np.unique(hints)) <= {0.0, 1.0} and (hints.sum(axis=-1) <= 1).all()
    return np.where(hints.any(axis=-1), hints.argmax(axis=-1), NO_TAG)


@given(
    space=spaces(max_terms=4),
    seed=st.integers(0, 2**32 - 1),
    padding=st.sampled_from(PADDINGS),
    reverse_input=st.booleans(),
    autoregressive=st.booleans(),
    encoding=st.sampled_from(["onehot", "integer"]),
    spare=st.integers(0, 40),
)
@settings(max_examples=60, deadline=None)
def test_digits_of_one_place_share_a_tag_and_other_steps_have_none(
    space, seed, padding, reverse_input, autoregressive, encoding, spare
):
    problems = sample(space, 30, np.random.default_rng(seed))
    needed = int(_hint_places(_framing(space, 1, autoregressive=autoregressive), problems).max())
    hints = needed + spare
    framing = _framing(space, hints, padding, reverse_input, autoregressive, encoding)
    features = _question_features(framing, problems)
    width, symbols = framing.text_format.question_width, len(framing.alphabet)
    assert features.shape == (30, width, (symbols if encoding == "onehot" else 1) + hints)
    assert framing.shapes.input_shape == features.shape[1:]
    tags = _tags(framing, features)
    offsets = []
    for row, chars in enumerate(framing.text_format.questions(problems)):
        reading = "".join(chars[::-1] if reverse_input else chars)  # as a person reads it
        expected = np.full(width, NO_TAG)
        for operand in re.finditer(r"\d+", reading):  # each digit's place within its operand
            for j in range(operand.start(), operand.end()):
                expected[width - 1 - j if reverse_input else j] = operand.end() - 1 - j
        digits = expected != NO_TAG
        assert (tags[row][~digits] == NO_TAG).all()  # operators, padding, brackets: no tag
        offset = set((tags[row] - expected)[digits].tolist())
        assert len(offset) == 1  # equal places share a tag in every operand
        offsets.append(offset.pop())
    offsets = np.array(offsets)
    assert (offsets >= 0).all() and (offsets + _hint_places(framing, problems) <= hints).all()
    assert tags.max() < hints
    if autoregressive:  # answer step t: the hint of place t, END's step and padding included
        x = framing.inputs(problems)
        steps = framing.text_format.answer_width + 1
        assert x["answer_hint"].shape == (30, steps, hints)
        assert (x["answer_hint"].sum(axis=-1) == 1).all()
        assert (x["answer_hint"].argmax(axis=-1) == offsets[:, None] + np.arange(steps)).all()
        assert (framing.answer_offsets(problems) == offsets).all()
        assert framing.shapes.answer_hints == hints


@given(
    space=spaces(max_terms=3),
    digits=st.integers(1, 25),
    seed=st.integers(0, 2**32 - 1),
    reverse_input=st.booleans(),
    autoregressive=st.booleans(),
)
@settings(max_examples=30, deadline=None)
def test_a_question_s_hints_are_the_same_alone_and_beside_any_others(
    space, digits, seed, reverse_input, autoregressive
):
    rng = np.random.default_rng(seed)
    wider = space.with_changes(mode="range", low=0, largest=10**digits - 1)
    problems = Problems.concat([sample(space, 10, rng), sample(wider, 10, rng)])
    problems = problems.take(rng.permutation(len(problems)))
    framing = _framing(space, 160, "right", reverse_input, autoregressive)
    layouts = layouts_for(framing, problems, any_length=True)
    text = problems.questions()
    for fitted, rows in layouts.groups():
        together = _question_features(fitted, problems.take(rows))
        for k, i in enumerate(rows):
            typed = parse_questions([text[i]])
            for one in (problems.take([i]), typed):  # as drawn, and typed on its own
                alone = layouts_for(framing, one, any_length=True).framings[0]
                assert (_question_features(alone, one)[0] == together[k]).all()
                if autoregressive:
                    first = alone.answer_offsets(one)
                    assert first == fitted.answer_offsets(problems.take(rows))[k]


def test_the_hash_reads_the_question_alone_whatever_its_integers_or_columns():
    space = ProblemSpace(2, 3, low=0, largest=10**6)
    problems = sample(space, 50, np.random.default_rng(5))
    huge = parse_questions(["1" * 40 + "+2"])
    batch = Problems.concat([problems, huge])  # object operands now, three columns
    assert batch.operands.dtype == object and problems.operands.dtype == np.int64
    assert (question_hash(batch)[:50] == question_hash(problems)).all()
    assert question_hash(problems.take([0]))[0] == question_hash(problems)[0]
    swapped = Problems(problems.operands[:, [1, 0, 2]], problems.templates, problems.targets)
    assert (question_hash(swapped) != question_hash(problems)).mean() > 0.9  # order matters


def test_training_sees_every_hint_and_a_longer_question_needs_its_places():
    space = ProblemSpace(2, 2, mode="digits", min_digits=1, max_digits=3)
    framing = _framing(space, 16, "right", True, autoregressive=True)
    problems = sample(space, 2000, np.random.default_rng(1))
    x = framing.inputs(problems)
    # answers of up to 4 digits, then END: 5 tags, at offsets 0..11; 3-digit operands 0..13
    assert set(framing.answer_offsets(problems)) == set(range(12))
    assert set(x["answer_hint"].argmax(axis=-1).ravel()) == set(range(16))
    assert set(_tags(framing, x["question"]).ravel()) == {NO_TAG, *range(14)}
    long = ProblemSpace(2, 2, mode="range", low=10**11, largest=10**12 - 1)  # 12 digits
    questions = sample(long, 3, np.random.default_rng(3))
    assert (_hint_places(framing.fitted(long), questions) == 14).all()  # a 13-digit sum, END
    short_range = _framing(space, 13, "right", True, autoregressive=True).fitted(long)
    with pytest.raises(ValueError, match="needs 14 position hints; there are 13"):
        short_range.inputs(questions)


@pytest.mark.parametrize("model", ["seq2seq", "teacher_forcing", "attention"])
def test_hints_off_leave_every_array_and_the_model_as_without_them(model):
    from addexp.models import build_model
    from addexp.training.pipeline import build_pipeline, layout

    cfg = compose([f"model={model}", "format.reverse_output=true", "data.max_terms=3"])
    assert cfg.format.position_hints == 0
    pipeline = build_pipeline(cfg)
    framing = pipeline.framing
    problems = sample(pipeline.space, 40, np.random.default_rng(7))
    fmt, alphabet = framing.text_format, framing.alphabet
    question = encode_inputs(
        alphabet.to_indices(fmt.questions(problems)), alphabet, "onehot", False
    )
    x = framing.inputs(problems)
    if model == "seq2seq":
        assert x.shape == question.shape and (x == question).all()
    else:
        assert sorted(x) == ["answer_in", "question"]
        assert x["question"].shape == question.shape and (x["question"] == question).all()
        tokens = framing.answer_tokens(problems)
        assert (x["answer_in"][:, 0] == alphabet.symbols.index(START)).all()
        assert (x["answer_in"][:, 1:] == tokens[:, :-1]).all()
    assert framing.shapes.input_shape == (fmt.question_width, len(alphabet))
    assert framing.shapes.answer_hints == 0
    assert "position_hints" not in layout(pipeline)  # what runs logged before hints existed
    names = {layer.name for layer in build_model(cfg.model, framing.shapes).layers}
    assert not {"answer_hint", "answer_with_hint"} & names


# --- tiny real trainings through `addexp`, read back -----------------------------------------

HINTS = 16
DECODERS = ["teacher_forcing", "attention"]
SEQ2SEQ = "seq2seq"
LONGER = "+eval.sets.longer={digits: 4}"  # layouts of their own, offsets of their own


@pytest.fixture(scope="module")
def hinted(tmp_path_factory) -> dict[str, str]:
    """Run ids by model family, trained with hints into one store (`uri` under key "_uri"):
    the two decoders that read their own answers in one sweep (trained long enough to write
    digits, a few seconds each), and the RepeatVector model with masking."""
    folder = tmp_path_factory.mktemp("hints")
    common = [f"format.position_hints={HINTS}", "format.padding=right", LONGER]
    common.append("tracking.experiment=hints")
    reversed_ = ["format.reverse_input=true", "format.reverse_output=true"]
    budget = ["train.examples=2000", "train.epochs=3", "train.batch_size=32"]
    decoders = addexp(
        ["-m", f"model={','.join(DECODERS)}", *common, *reversed_, *budget, "eval.examples=40"],
        cwd=folder,
    )
    assert decoders.returncode == 0, decoders.stderr[-3000:]
    seq2seq = addexp([*TINY, *common, "encoding.masking=true"], cwd=folder)
    assert seq2seq.returncode == 0, seq2seq.stderr[-3000:]
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(
        experiment_names=["hints"], filter_string="attributes.status = 'FINISHED'"
    )
    runs = runs[runs["params.model.name"].notna()]  # not the sweep's parent
    ids = dict(zip(runs["params.model.name"], runs["run_id"], strict=True))
    assert sorted(ids) == sorted([*DECODERS, SEQ2SEQ])
    return {"_uri": uri, **ids}


def _logged_json(uri: str, run_id: str, artifact: str, folder: Path) -> dict:
    return json.loads(
        Path(MlflowClient(uri).download_artifacts(run_id, artifact, str(folder))).read_text()
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", [*DECODERS, SEQ2SEQ])
def test_a_hinted_run_records_its_hints_and_predict_gives_back_what_it_logged(
    hinted, tmp_path, name, capsys
):
    uri, run_id = hinted["_uri"], hinted[name]
    run = MlflowClient(uri).get_run(run_id)
    assert run.data.params["format.position_hints"] == str(HINTS)
    layout = _logged_json(uri, run_id, "config/layout.json", tmp_path)
    assert layout["position_hints"] == HINTS
    model = open_run(run_id, uri).load_model()  # the question's hints are features of its steps
    assert model.get_layer("question").output.shape[-1] == len(layout["alphabet"]) + HINTS
    if name in DECODERS:  # and the decoder reads the hint of every step it writes
        assert model.get_layer("answer_hint").output.shape[-1] == HINTS
    for artifact, prefix in [("predictions.csv", "test"), ("predictions/longer.csv", "longer")]:
        rows = logged_rows(uri, run_id, artifact, tmp_path)
        code, predicted = predict_rows(uri, run_id, rows, tmp_path / f"{prefix}_out.csv")
        assert code == 0, capsys.readouterr().err
        assert [p["predicted"] for p in predicted] == [r["predicted"] for r in rows]
        exact = sum(p["correct"] == "True" for p in predicted) / len(predicted)
        assert exact == pytest.approx(run.data.metrics[f"{prefix}/exact_match"])
    if name in DECODERS:  # it writes digits, so what follows is not only END at once
        assert any(r["predicted"] for r in logged_rows(uri, run_id, "predictions.csv", tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize("name", [*DECODERS, SEQ2SEQ])
def test_an_answer_is_the_same_alone_and_beside_a_longer_question(hinted, tmp_path, name, capsys):
    uri, run_id = hinted["_uri"], hinted[name]
    short = [r["input"] for r in logged_rows(uri, run_id, "predictions.csv", tmp_path)[:4]]
    alone = []
    for question in short:
        assert predict.main(["--run", run_id, "--uri", uri, "--format", "json", question]) == 0
        alone.append(json.loads(capsys.readouterr().out)[0]["predicted"])
    asked = ["1234567+89", *short]  # a layout of its own, and other offsets
    assert predict.main(["--run", run_id, "--uri", uri, "--format", "json", *asked]) == 0
    assert [row["predicted"] for row in json.loads(capsys.readouterr().out)[1:]] == alone


@pytest.mark.slow
@pytest.mark.parametrize("name", DECODERS)
def test_a_beam_of_four_decodes_a_hinted_run_row_by_row(hinted, tmp_path, name, capsys):
    from addexp.evaluation.decode import decode
    from addexp.models import bind

    uri, run_id = hinted["_uri"], hinted[name]
    code = evaluate_run.main(
        ["--run", run_id, "--uri", uri, "model.beam_width=4", "+eval.sets.wide={digits: 3}"]
    )
    assert code == 0, capsys.readouterr().err
    metrics = MlflowClient(uri).get_run(run_id).data.metrics
    assert 0 <= metrics["beam4/wide/exact_match"] <= 1
    logged = open_run(run_id, uri)
    model_cfg = OmegaConf.merge(logged.cfg.model, {"beam_width": 4})
    family, framing = bind(logged.pipeline.family, model_cfg), logged.pipeline.framing
    questions = [r["input"] for r in logged_rows(uri, run_id, "predictions.csv", tmp_path)[:6]]
    questions.append("98765+4321")  # beyond the trained operands: a layout of its own
    problems = parse_questions(questions)
    model = logged.load_model()
    together = decode(model, family, framing, problems).answers.text
    for i in range(len(problems)):  # each beam feeds its own row's hints
        assert decode(model, family, framing, problems.take([i])).answers.text[0] == together[i]


@pytest.mark.slow
def test_a_typed_question_too_long_for_the_hints_is_one_line_and_exit_2(hinted):
    uri, run_id = hinted["_uri"], hinted["attention"]
    result = addexp_predict(["--run", run_id, "--uri", uri, "3+4", "1234567890123456+1"])
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "addexp-predict: question '1234567890123456+1' needs 18 position hints"
    )
    assert (
        f"(an operand of 16 digits; answers of up to 17 characters, then END), more than "
        f"format.position_hints={HINTS} gives." in result.stderr
    )


# --- refused before anything trains ----------------------------------------------------------


REFUSED = {
    "decoder_without_reversed_answer": (
        ["model=attention", "format.position_hints=8"],
        "format.position_hints=8 with model=attention gives answer step t the hint of place t, "
        "which needs the answer written least significant digit first: set "
        "format.reverse_output=true",
    ),
    "aligned_tagger": (
        ["format=aligned", "model=tagger", "format.position_hints=8"],
        "format=aligned with model=tagger takes none (format=aligned writes the place values",
    ),
    "mapping": (
        ["model=mlp", "format.position_hints=8"],
        "format=plain with model=mlp takes none (model=mlp reads scaled numbers",
    ),
    "embedding": (
        ["format.position_hints=8", "encoding=embedding"],
        "encoding=embedding feeds symbol indices, with no room for them. Use encoding=onehot",
    ),
    "set_too_long": (
        ["experiment=length_attention_hints", "format.position_hints=101"],
        "eval.sets.digits_100 needs up to 102 position hints (operands of up to 100 digits; "
        "answers of up to 101 characters, then END), more than format.position_hints=101 "
        "gives; raise format.position_hints to at least 102, which every set fits, or drop the "
        "sets that need more.",
    ),
    "sets_too_long": (  # the first set too long is named, with what every set needs
        ["experiment=length_attention_hints", "format.position_hints=8"],
        "eval.sets.digits_10 needs up to 12 position hints (operands of up to 10 digits; "
        "answers of up to 11 characters, then END), more than format.position_hints=8 gives "
        "(as do 3 more sets); raise format.position_hints to at least 102, which every set fits",
    ),
    "training_too_long": (
        ["experiment=length_repeat", "format.position_hints=4"],
        "the training space (data) needs up to 5 position hints (operands of up to 5 digits)",
    ),
    "negative": (["format.position_hints=-1"], "format.position_hints=-1 is out of range"),
}


@pytest.mark.parametrize(("overrides", "expected"), REFUSED.values(), ids=REFUSED)
def test_hints_the_run_cannot_take_are_refused_before_anything_trains(
    tmp_path, overrides, expected
):
    result = addexp(overrides, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    said = [line for line in result.stderr.splitlines() if line.startswith("addexp: ")]
    assert len(said) == 1 and expected in said[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mlflow.db").exists()
