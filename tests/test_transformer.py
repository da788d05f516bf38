"""The `transformer` family: its decoding is its training graph, no step sees a later one, its
positions (learned, sinusoidal, none, Abacus, coupled) are what their papers define, it saves
and loads, it refuses what it cannot take, and it trains through the real `addexp`."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from addexp.models import FAMILIES, bind, build_model
from addexp.problems.sampling import sample
from addexp.training.pipeline import build_pipeline
from tests.conftest import TINY, addexp, compose

SMALL = ["model=transformer", "model.dim=16", "model.heads=2", "model.ff_dim=32"]
POSITIONS = ["learned", "sinusoidal", "none", "abacus", "coupled"]
VARIANTS = ["encoder_decoder", "decoder_only"]
# what each position option needs of the format (coupled positions are the position hints)
NEEDS = {"coupled": ["format.position_hints=16"], "abacus": ["format.reverse_input=true"]}


def _built(overrides: list[str]):
    cfg = compose(["data.largest=999", "format.reverse_output=true", *SMALL, *overrides])
    pipeline = build_pipeline(cfg)
    model = build_model(cfg.model, pipeline.framing.shapes)
    return cfg, pipeline, model


CASES = list(itertools.product(VARIANTS, POSITIONS))
# the default suite decodes these; every case runs in the slow set
DEFAULT = {("encoder_decoder", "abacus"), ("decoder_only", "coupled"), ("decoder_only", "none")}


@pytest.mark.parametrize(
    ("variant", "positions"),
    [c if c in DEFAULT else pytest.param(*c, marks=pytest.mark.slow) for c in CASES],
    ids=[f"{v}-{p}" for v, p in CASES],
)
def test_decoding_answers_what_the_training_graph_computes(variant, positions):
    """Greedy decoding, step by step over a prefix padded to the layout, writes at every step
    the most probable symbol of the training model fed that answer (teacher forcing), and the
    log-probability it reports is the training model's: the causal mask keeps every later step
    out, the positions are the same in both. Beam search is never less probable."""
    from addexp.framing.base import START

    masked = ["encoding.masking=true", "format.padding=none"] if variant == "decoder_only" else []
    cfg, pipeline, model = _built(
        [
            f"model.variant={variant}",
            f"model.positions={positions}",
            *NEEDS.get(positions, []),
            *masked,
        ]
    )
    from addexp.framing.base import END
    from addexp.models.search import greedy
    from addexp.models.transformer import Decoding

    framing = pipeline.framing
    problems = sample(pipeline.space, 40, np.random.default_rng(3))
    steps = framing.text_format.answer_width + 1
    nets = Decoding.of(model)
    offsets = framing.answer_offsets(problems) if nets.hints else None
    symbols = framing.alphabet.symbols
    state = nets.start(framing.question_inputs(problems), offsets, steps)
    written, score = greedy(nets.step(), state, symbols.index(START), symbols.index(END), 0, steps)
    x = framing.inputs(problems)
    start = np.full((len(problems), 1), symbols.index(START), np.int32)
    x["answer_in"] = np.concatenate([start, written[:, :-1]], axis=1)
    probs = model.predict(x, verbose=0)
    ended = written == symbols.index(END)
    lengths = np.where(ended.any(axis=1), ended.argmax(axis=1) + 1, steps)
    for row, n in enumerate(lengths):
        np.testing.assert_array_equal(probs[row, :n].argmax(-1), written[row, :n])
        want = np.log(probs[row, np.arange(n), written[row, :n]]).sum()
        assert score[row] == pytest.approx(want, abs=1e-3)
    family = bind(FAMILIES["transformer"], cfg.model)
    np.testing.assert_allclose(family.decode(model, framing, problems, 16).log_prob, score, 1e-5)
    searched = bind(FAMILIES["transformer"], OmegaConf.merge(cfg.model, {"beam_width": 3}))
    wider = searched.decode(model, framing, problems, 16)
    assert (wider.log_prob >= score - 1e-5).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_answer_step_sees_a_later_one_nor_a_masked_pad(variant):
    """Changing the answer symbol read at step k changes no output before k; with masking,
    changing how much padding precedes a question changes no answer step of the encoder-
    decoder (padding is never attended to)."""
    _, pipeline, model = _built([f"model.variant={variant}", "encoding=embedding"])
    problems = sample(pipeline.space, 8, np.random.default_rng(0))
    x = pipeline.framing.inputs(problems)
    base = model.predict(x, verbose=0)
    for k in range(1, x["answer_in"].shape[1]):
        changed = {**x, "answer_in": x["answer_in"].copy()}
        changed["answer_in"][:, k] = (changed["answer_in"][:, k] + 1) % 5
        out = model.predict(changed, verbose=0)
        np.testing.assert_allclose(out[:, :k], base[:, :k], atol=1e-5)
        assert not np.allclose(out[:, k:], base[:, k:], atol=1e-5)


def test_masked_padding_is_never_attended_to():
    """With masking, more padding after the same questions changes no answer step (after:
    padding before them would move their learned positions)."""
    _, pipeline, model = _built(["encoding=embedding", "encoding.masking=true"])
    problems = sample(pipeline.space, 8, np.random.default_rng(0))
    x = pipeline.framing.inputs(problems)
    padded = {**x, "question": np.pad(x["question"], ((0, 0), (0, 3)))}  # index 0: the pad
    np.testing.assert_allclose(
        model.predict(padded, verbose=0), model.predict(x, verbose=0), atol=1e-5
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=1, max_size=30), min_size=1, max_size=5))
def test_abacus_indices_count_each_digit_within_its_number(rows):
    """1, 2, ... along every run of digits, 0 elsewhere: each digit's index in its number, as
    the position hints count places (`addexp.text.hints`, units first) plus one."""
    from keras import ops

    from addexp.models.transformer_layers import index_in_run
    from addexp.text.hints import _index_in_run

    width = max(len(r) for r in rows)
    flags = np.array([r + [False] * (width - len(r)) for r in rows])
    got = ops.convert_to_numpy(index_in_run(flags.astype(np.float32)))
    np.testing.assert_array_equal(got, _index_in_run(flags) + 1)


def test_abacus_offsets_are_random_in_training_shared_by_a_row_and_zero_at_inference():
    """McLeish et al.'s offsets: one per row in 0 .. max_offset while training, spread over the
    whole range, none at inference; a digit's table row is its index plus its row's offset."""
    import keras

    from addexp.models.transformer_layers import AbacusEncoding, RandomOffset

    keras.utils.set_random_seed(0)
    draw = RandomOffset(7)
    x = np.zeros((4000, 3), np.float32)
    offsets = keras.ops.convert_to_numpy(draw(x, training=True))
    assert set(np.unique(offsets)) == set(range(8))
    assert (keras.ops.convert_to_numpy(draw(x, training=False)) == 0).all()
    abacus = AbacusEncoding(16, digits=(1,))
    symbols = np.array([[1, 1, 0, 1]])  # two digits, a non-digit, one digit
    features = np.zeros((1, 4, 2), np.float32)
    out = keras.ops.convert_to_numpy(abacus([features, symbols, np.array([5], np.int32)]))
    table = keras.ops.convert_to_numpy(abacus.table)
    np.testing.assert_allclose(out[0], [table[6], table[7], [0, 0], table[6]])


def test_sinusoidal_positions_are_vaswani_s():
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d))."""
    from keras import ops

    from addexp.models.transformer_layers import sinusoids

    got = ops.convert_to_numpy(sinusoids(np.arange(50), 6))
    pos, i = np.arange(50)[:, None], np.arange(3)[None, :]
    angle = pos / 10000 ** (2 * i / 6)
    np.testing.assert_allclose(got[:, 0::2], np.sin(angle), atol=1e-5)
    np.testing.assert_allclose(got[:, 1::2], np.cos(angle), atol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_saved_transformer_loads_and_answers_alike(variant, tmp_path):
    """Its own layers are registered with Keras: the saved model loads (in this process, after
    `load_layers`) and computes what it computed."""
    import keras

    from addexp.models import load_layers

    _, pipeline, model = _built([f"model.variant={variant}", "model.positions=abacus"])
    load_layers(FAMILIES["transformer"])
    x = pipeline.framing.inputs(sample(pipeline.space, 8, np.random.default_rng(1)))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.positions=coupled"], "format.position_hints=0 gives none"),
        (["model.positions=abacus", "encoding=integer"], "encoding=integer"),
        (["model.dim=30", "model.heads=4"], "model.dim=30 is split evenly"),
        (["model.variant=encoder_only"], "model.variant"),
        (["model.positions=rotary"], "model.positions"),
        (["model.abacus_offset=-1"], "model.abacus_offset"),
        (["model.dropout=1.5"], "model.dropout"),
        (["model.max_positions=4"], "model.max_positions=4"),
    ],
)
def test_the_family_refuses_what_it_cannot_take(tmp_path, overrides, message):
    """One paragraph naming the key, exit 2, no traceback, no run left behind."""
    result = addexp([*TINY, "model=transformer", *overrides], tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_a_layout_beyond_the_position_table_is_refused_by_name(tmp_path):
    """A set, or a typed question, whose layout needs more learned positions than the table
    holds is refused before anything is drawn, naming `model.max_positions`; decoding such a
    layout anyway raises the same message (never an index error from inside the graph)."""
    from addexp.config.checks import ConfigError

    small = ["model.positions=learned", "model.max_positions=12", "data.largest=99"]
    result = addexp([*TINY, *SMALL, *small, "+eval.sets.long={digits: 6}"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "eval.sets.long needs 13 rows of the learned position table" in result.stderr
    assert "model.max_positions=12" in result.stderr and "Traceback" not in result.stderr
    cfg, _, model = _built(small)
    wide = build_pipeline(compose([*SMALL, "data.largest=999999"]))
    problems = sample(wide.space, 4, np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"model\.max_positions=12"):
        bind(FAMILIES["transformer"], cfg.model).decode(model, wide.framing, problems, 16)


@pytest.mark.slow
def test_every_variant_and_position_trains_through_the_command_and_predicts_as_logged(tmp_path):
    """One sweep through the real `addexp`: both variants with every position option (position
    hints on, so that `coupled` has them; a naive curriculum over 1-2 digit operands), each a
    FINISHED child whose attention maps are logged and whose own predictions `addexp-predict`
    gives back exactly."""
    import mlflow

    from tests.conftest import logged_rows, predict_rows

    grid = ["model.variant=encoder_decoder,decoder_only", f"model.positions={','.join(POSITIONS)}"]
    base = [*TINY, *SMALL, "format.position_hints=16", "format.reverse_output=true"]
    base += ["data=digits", "data.max_digits=2", "train.curriculum.name=naive"]
    done = addexp(["-m", *grid, *base], tmp_path, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["addexp"])
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(children) == len(CASES) and set(children["status"]) == {"FINISHED"}
    params = children[["params.model.variant", "params.model.positions"]]
    assert set(params.itertuples(index=False, name=None)) == set(CASES)
    client = mlflow.MlflowClient(uri)
    for run_id in children["run_id"]:
        assert [a.path for a in client.list_artifacts(run_id, "transformer")] == [
            "transformer/maps.png"
        ]
        rows = logged_rows(uri, run_id, "predictions.csv", tmp_path / run_id)
        code, predicted = predict_rows(uri, run_id, rows, tmp_path / f"{run_id}.csv")
        assert code == 0
        assert [p["predicted"] for p in predicted] == [r["predicted"] for r in rows]
