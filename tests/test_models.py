"""Models built from config: the published architectures (by weight count) and their masks."""

from __future__ import annotations

import numpy as np
import pytest

from addexp.models import build_model
from addexp.problems.sampling import sample
from addexp.training.pipeline import build_pipeline
from tests.conftest import compose


def _lstm(units: int, features: int) -> int:
    return 4 * (units * (features + units) + units)


def _built(overrides: list[str]):
    cfg = compose(overrides)
    pipeline = build_pipeline(cfg)
    return pipeline.space, pipeline.framing, build_model(cfg.model, pipeline.framing.shapes)


@pytest.mark.parametrize(
    ("preset", "weights", "output_shape"),
    [
        # LSTM(100) on 12 symbols, RepeatVector(2), LSTM(50), Dense(12) per step
        ("tutorial_seq2seq", _lstm(100, 12) + _lstm(50, 100) + 50 * 12 + 12, (None, 2, 12)),
        ("tutorial_seq2seq_2020", _lstm(75, 12) + _lstm(50, 75) + 50 * 12 + 12, (None, 2, 12)),
        ("keras_addition_rnn", _lstm(128, 12) + _lstm(128, 128) + 128 * 12 + 12, (None, 4, 12)),
        ("tutorial_mapping_lstm", _lstm(6, 1) + _lstm(2, 6) + 2 + 1, (None, 1)),
        ("tutorial_mapping_mlp", (2 * 4 + 4) + (4 * 2 + 2) + (2 + 1), (None, 1)),
    ],
)
def test_presets_build_the_published_architectures(preset, weights, output_shape):
    _, framing, model = _built([f"experiment={preset}"])
    assert model.count_params() == weights
    assert model.output_shape == output_shape
    # every published question is short enough for the seq2seq family to unroll: fixed steps
    assert model.input_shape == (None, *framing.shapes.input_shape)


def test_seq2seq_unrolled_computes_what_the_loop_computes():
    """Unrolling changes how the time steps run, not what they compute: with the same weights
    the unrolled model and the looped one (free length) give the same outputs, and a twin built
    for a wider layout (loop beyond `unroll_max_steps`, unrolled within) answers as the looped
    model does at that width."""
    from addexp.models.seq2seq import for_layout

    space, framing, unrolled = _built(["data.largest=999"])
    *_, looped = _built(["data.largest=999", "model.unroll_max_steps=0"])
    assert unrolled.input_shape[1] == framing.text_format.question_width
    assert looped.input_shape[1] is None
    assert [layer.unroll for layer in unrolled.layers if hasattr(layer, "unroll")] == [True] * 2
    looped.set_weights(unrolled.get_weights())
    x = framing.inputs(sample(space, 64, np.random.default_rng(0)))
    np.testing.assert_allclose(unrolled.predict(x, verbose=0), looped.predict(x, verbose=0),
                               atol=1e-6)  # fmt: skip

    wide = np.concatenate([np.zeros_like(x[:, :40]), x], axis=1)  # 47 steps, 9 answer steps
    twin = for_layout(unrolled, 47, 9, max_steps=32)
    assert twin.input_shape[1] is None  # 47 > 32: the loop again
    assert [layer.unroll for layer in twin.layers if hasattr(layer, "unroll")] == [False, True]
    np.testing.assert_allclose(
        twin.predict(wide, verbose=0),
        for_layout(looped, 47, 9, max_steps=0).predict(wide, verbose=0),
        atol=1e-6,
    )
    assert for_layout(unrolled, x.shape[1], unrolled.output_shape[1], 32) is unrolled


@pytest.mark.parametrize("encoding", ["onehot", "integer", "embedding"])
def test_masking_hides_exactly_the_padding_steps(encoding):
    space, framing, model = _built(
        ["data.largest=999", "data.max_terms=3", f"encoding={encoding}", "encoding.masking=true"]
    )
    problems = sample(space, 64, np.random.default_rng(0))
    x = framing.inputs(problems)
    first = model.get_layer("embedding" if encoding == "embedding" else "masking")
    mask = np.asarray(first.compute_mask(x))
    assert (mask == (framing.text_format.questions(problems) != " ")).all()
    assert model.predict(x, verbose=0).shape == (
        64,
        framing.shapes.output_steps,
        len(framing.alphabet),
    )


def test_mapping_lstm_masks_missing_terms():
    space, framing, model = _built(
        ["model=mapping_lstm", "data.max_terms=4", "encoding.masking=true"]
    )
    problems = sample(space, 32, np.random.default_rng(1))
    mask = np.asarray(model.get_layer("masking").compute_mask(framing.inputs(problems)))
    assert (mask == (problems.operands != -1)).all()


def test_accuracy_counts_the_steps_the_loss_counts():
    """Teacher forcing weighs the steps after END 0 in the loss; accuracy must skip them too,
    or an exact model would show a per-step accuracy below its exact match."""
    from addexp.training.fit import compile_model

    cfg = compose(["model=teacher_forcing", "model.units=[8]", "data.largest=99"])
    pipeline = build_pipeline(cfg)
    framing = pipeline.framing
    model = build_model(cfg.model, framing.shapes)
    compile_model(model, framing, cfg.train)
    problems = sample(pipeline.space, 64, np.random.default_rng(0))
    x, y, w = framing.inputs(problems), framing.targets(problems), framing.sample_weights(problems)
    assert (w == 0).any()  # short answers end early: there are steps to skip
    got = model.evaluate(x, y, sample_weight=w, return_dict=True, verbose=0)["accuracy"]
    predicted = model.predict(x, verbose=0).argmax(axis=-1)
    target = y if y.ndim == predicted.ndim else y.argmax(axis=-1)
    expected = ((predicted == target) * w).sum() / w.sum()
    assert got == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_tagger_unrolled_computes_what_the_loop_computes(bidirectional):
    """The tagger unrolled over the training layout's places answers as the looped tagger with
    the same weights, and its decode reads longer numbers through a twin that loops again."""
    from addexp.framing.layouts import layouts_for
    from addexp.models import FAMILIES, bind

    base = ["experiment=fast_tutorial", f"model.bidirectional={str(bidirectional).lower()}"]
    space, framing, unrolled = _built(base)
    cfg = compose([*base, "model.unroll_max_steps=0"])
    looped = build_model(cfg.model, framing.shapes)
    assert unrolled.input_shape[1] == framing.steps and looped.input_shape[1] is None
    looped.set_weights(unrolled.get_weights())
    x = framing.inputs(sample(space, 64, np.random.default_rng(0)))
    np.testing.assert_allclose(unrolled.predict(x, verbose=0), looped.predict(x, verbose=0),
                               atol=1e-6)  # fmt: skip

    forty = space.with_changes(low=10**39, largest=10**40 - 1)  # sums of 41 places > 32
    long = sample(forty, 32, np.random.default_rng(1))
    [(wide, _)] = layouts_for(framing, long, True).groups()
    assert wide.steps == 41
    got = bind(FAMILIES["tagger"], compose(base).model).decode(unrolled, wide, long, 1024)
    expected = bind(FAMILIES["tagger"], cfg.model).decode(looped, wide, long, 1024)
    assert (got.chars == expected.chars).all()


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=teacher_forcing", "model.units=[16]"],
        ["model=attention", "model.units=[16]", "model.bidirectional=true"],
        [
            "model=attention",
            "model.units=[8]",
            "format.reverse_output=true",
            "format.position_hints=24",
        ],
    ],
    ids=["teacher_forcing", "attention_bidirectional", "attention_hints"],
)
def test_decoders_unrolled_answer_as_the_loop_answers(overrides):
    """The decoders that read their own answers, unrolled over the training layout, train the
    inputs a looped model takes and, with the same weights, decode the same answers greedily
    and by beam search, in the training layout and through a twin for a longer one."""
    from addexp.framing.layouts import layouts_for
    from addexp.models import FAMILIES, bind

    base = ["data.largest=99", *overrides]
    space, framing, unrolled = _built(base)
    loop_cfg = compose([*base, "model.unroll_max_steps=0"])
    looped = build_model(loop_cfg.model, framing.shapes)
    assert unrolled.get_layer("question").output.shape[1] == framing.text_format.question_width
    assert looped.get_layer("question").output.shape[1] is None
    looped.set_weights(unrolled.get_weights())
    x = framing.inputs(sample(space, 32, np.random.default_rng(0)))
    np.testing.assert_allclose(unrolled.predict(x, verbose=0), looped.predict(x, verbose=0),
                               atol=1e-5)  # fmt: skip

    family = FAMILIES[compose(base).model.name]
    short = sample(space, 32, np.random.default_rng(1))
    long = sample(space.with_changes(low=10**9, largest=10**10 - 1), 16, np.random.default_rng(2))
    for problems in (short, long):
        for (layout, _), width in [(g, w) for g in layouts_for(framing, problems, True).groups()
                                   for w in (1, 3)]:  # fmt: skip
            wide = ["model.beam_width=" + str(width)]
            got = bind(family, compose([*base, *wide]).model).decode(unrolled, layout, problems, 64)
            want = bind(family, compose([*base, "model.unroll_max_steps=0", *wide]).model)
            assert (got.chars == want.decode(looped, layout, problems, 64).chars).all()


@pytest.mark.slow
def test_a_run_logs_a_model_that_reads_any_length(tmp_path):
    """The model a run logs loops and takes any length, though the run trained it unrolled;
    addexp-predict unrolls it again and answers exactly what the run logged."""
    import mlflow

    from tests.conftest import addexp, addexp_predict

    args = ["train.epochs=2", "train.examples=200", "eval.examples=60", "eval.show=0"]
    assert addexp(args, cwd=tmp_path).returncode == 0
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    run = mlflow.search_runs(experiment_names=["addexp"]).iloc[0]
    assert run["params.derived.question_width"] == "5"
    logged = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model").unwrap_python_model().model
    assert logged.input_shape == (None, None, 12)
    assert not any(getattr(layer, "unroll", False) for layer in logged.layers)
    seven = np.zeros((3, 7, 12), np.float32)
    assert logged.predict(seven, verbose=0).shape == (3, 2, 12)  # longer than trained
    table = tmp_path / "predictions.csv"
    mlflow.artifacts.download_artifacts(run_id=run.run_id, artifact_path="predictions.csv",
                                        dst_path=str(tmp_path))  # fmt: skip
    out = tmp_path / "answers.csv"
    answered = addexp_predict(["--run", run.run_id, "--uri", uri, "--file", str(table),
                               "--format", "csv", "--out", str(out)], tmp_path)  # fmt: skip
    assert answered.returncode == 0, answered.stderr
    assert f"exact_match {run['metrics.test/exact_match']:.4f}" in answered.stderr
    import pandas as pd

    logged_answers = pd.read_csv(table, dtype=str, keep_default_na=False)["predicted"]
    assert pd.read_csv(out, dtype=str, keep_default_na=False)["predicted"].equals(logged_answers)


def test_decoding_never_serves_one_models_decoder_for_another():
    """The encoder and one-step decoder built for a model are held with that model, so a twin
    built for another layout, freed, cannot leave them behind for a newer model at its address
    (which decoded a question of another length with the old layout's unrolled encoder)."""
    import gc
    import weakref

    from addexp.models import recurrent

    base = ["data.largest=99", "model=attention", "model.units=[8]"]
    _, framing, model = _built(base)
    twin = recurrent.for_layout(model, framing.text_format.question_width + 3, 5, max_steps=32)
    assert twin is not model
    nets = recurrent._cached(twin)
    alive = weakref.ref(twin)
    del twin
    gc.collect()
    assert alive() is not None  # nothing else can be allocated where it lives
    assert recurrent._cached(alive()) is nets
    assert recurrent._cached(model) is not nets
    assert (
        recurrent._cached(model).encoder.input.shape[1]
        == model.get_layer("question").output.shape[1]
    )


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=teacher_forcing", "model.cell=gru", "encoding.masking=true"],
        ["model=teacher_forcing", "model.cell=simple_rnn", "model.units=[8,8]"],
        ["model=attention", "model.bidirectional=true"],
        ["model=attention", "encoding.masking=true", "model.bidirectional=true"],
        ["model=attention", "model.attention=dot", "encoding=embedding", "encoding.masking=true"],
        ["model=attention", "model.cell=gru", "encoding.masking=true", "model.units=[8,8]"],
    ],
    ids=[
        "gru_masked",
        "simple_rnn_stacked",
        "attention_bi",
        "attention_bi_masked",
        "dot_embedding_masked",
        "attention_gru_stacked_masked",
    ],
)
def test_the_one_step_decoder_computes_what_the_training_model_computes(overrides):
    """Decoding runs the trained layers one step at a time: fed the true previous symbols
    (teacher forcing), the encoder and one-step decoder give, at every step, the distribution
    the training model gives, also where padded question steps are masked (the attention then
    never looks at them, in training or decoding)."""
    from addexp.models import recurrent

    units = [] if any(o.startswith("model.units=") for o in overrides) else ["model.units=[8]"]
    space, framing, model = _built(["data.largest=999", *units, *overrides])
    assert len([n for n in (layer.name for layer in model.layers) if n.startswith("decoder_")]) \
        == (2 if units == [] else 1)  # fmt: skip
    problems = sample(space, 48, np.random.default_rng(0))
    x = framing.inputs(problems)
    want = model.predict(x, verbose=0)
    nets = recurrent.inference_models(model)
    state = recurrent.start_state(nets, x["question"], None)
    for t in range(want.shape[1]):
        outputs = nets.step.predict_on_batch(nets.step_inputs(x["answer_in"][:, t], state))
        np.testing.assert_allclose(outputs[0][:, 0, :], want[:, t, :], atol=1e-5)
        state = nets.next_state(state, outputs)
