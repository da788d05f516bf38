"""Composition of every preset (real Hydra), the published values, and the semantic checks."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from addexp.cli.entry import validate
from addexp.config.checks import ConfigError
from addexp.config.presets import DEFAULT_PRESET, default_choices, run_preset
from tests.conftest import CONF, PRESETS, compose

# The tutorial trains both mapping models alike: 50 epochs of 100 fresh problems, batch 2, Adam.
MAPPING_TRAIN = {
    "regime": "fresh",
    "epochs": 50,
    "examples": 100,
    "batch_size": 2,
    "optimizer": "adam",
}

PUBLISHED = {
    "tutorial_seq2seq": {
        "data": {
            "terms": 2,
            "operands": "range",
            "low": 1,
            "largest": 10,
        },
        "format": {"padding": "left", "reverse_input": False},
        "model": {"name": "seq2seq", "encoder_units": [100], "decoder_units": [50]},
        "train": {
            "regime": "fresh",
            "epochs": 30,
            "examples": 1000,
            "batch_size": 10,
            "optimizer": "adam",
            "learning_rate": 0.001,
        },
    },
    "tutorial_seq2seq_2020": {
        "data": {"terms": 3, "operands": "range", "low": 1, "largest": 10},
        "format": {"padding": "left"},
        "model": {"name": "seq2seq", "encoder_units": [75], "decoder_units": [50]},
        "train": {
            "regime": "fresh",
            "epochs": 1,
            "examples": 75000,
            "batch_size": 32,
            "optimizer": "adam",
        },
    },
    "tutorial_mapping_lstm": {
        "data": {"terms": 2, "operands": "range", "low": 1, "largest": 100},
        "model": {"name": "mapping_lstm", "units": [6, 2]},
        "train": MAPPING_TRAIN,
    },
    "tutorial_mapping_mlp": {
        "data": {"terms": 2, "operands": "range", "low": 1, "largest": 100},
        "model": {"name": "mlp", "units": [4, 2], "activation": "linear"},
        "train": MAPPING_TRAIN,
    },
    "keras_addition_rnn": {
        "data": {
            "terms": 2,
            "operands": "digits",
            "min_digits": 1,
            "max_digits": 3,
        },
        "format": {"padding": "right", "reverse_input": True},
        "model": {"name": "seq2seq", "encoder_units": [128], "decoder_units": [128]},
        "train": {
            "regime": "fixed",
            "epochs": 29,
            "examples": 50000,
            "val_fraction": 0.1,
            "distinct": "unordered",
            "batch_size": 32,
            "optimizer": "adam",
        },
    },
}


# Extension presets: what each changes relative to ext_baseline, and the keys its sweep varies.
EXTENSIONS = {
    "ext_integer_encoding": ({"encoding.name": "integer"}, ["encoding"]),
    "ext_masking": ({"encoding.masking": True}, ["encoding.masking"]),
    "ext_per_term_padding": ({"format.padding": "per_term"}, ["format.padding"]),
    "ext_reversal": (
        {"format.reverse_input": True},
        ["format.reverse_input", "format.reverse_output"],
    ),
    "ext_variable_terms": ({"data.max_terms": 4}, ["data.max_terms"]),
    "ext_operations": ({"data.operations": ["+", "-"]}, ["data.operations"]),
    "ext_brackets": (
        {
            "data.terms": 3,
            "data.largest": 9,
            "data.operations": ["+", "-"],
            "data.brackets": 1,
            "eval.disjoint": False,
        },
        ["data.brackets"],
    ),
}


def _flat(cfg) -> dict:
    from addexp.config.schema import flatten

    return flatten(OmegaConf.to_container(cfg, resolve=False))


LENGTH_STUDY = {
    "length_repeat": ("seq2seq", "plain", False),
    "length_repeat_reversed": ("seq2seq", "plain", True),
    "length_teacher_forcing": ("teacher_forcing", "plain", True),
    "length_attention": ("attention", "plain", True),
    "length_attention_hints": ("attention", "plain", True),
    "length_aligned": ("tagger", "aligned", False),
}


def test_every_preset_is_checked_here():
    checked = [
        *PUBLISHED,
        *EXTENSIONS,
        "ext_baseline",
        *LENGTH_STUDY,
        "length_base",  # the bases the presets above share
        "keras_base",
        *DECODERS,
        *FAST,
    ]
    assert sorted(checked) == PRESETS


DECODERS = ["keras_attention", "keras_teacher_forcing"]


@pytest.mark.parametrize("preset", DECODERS)
def test_decoder_presets_are_the_keras_example_with_another_decoder(preset):
    cfg, keras_rnn = compose([f"experiment={preset}"]), compose(["experiment=keras_addition_rnn"])
    validate(cfg)
    assert cfg.model.name == preset.removeprefix("keras_")
    for section in ("data", "format", "encoding", "train", "eval"):
        assert cfg[section] == keras_rnn[section]


FAST = {"fast_tutorial": "tutorial_seq2seq", "fast_addition_rnn": "keras_addition_rnn"}


@pytest.mark.parametrize("preset", sorted(FAST))
def test_fast_presets_keep_the_published_problem_data_and_test(preset):
    cfg, published = compose([f"experiment={preset}"]), compose([f"experiment={FAST[preset]}"])
    validate(cfg)
    assert cfg.data == published.data and cfg.eval == published.eval
    assert cfg.train.regime == published.train.regime
    if published.train.regime == "fixed":  # the same set; fresh draws may come in other epochs
        for key in ("examples", "val_fraction", "distinct"):
            assert cfg.train[key] == published.train[key], key
    shown = cfg.train.epochs * cfg.train.examples
    assert cfg.train.epochs < published.train.epochs
    assert shown < published.train.epochs * published.train.examples


@pytest.mark.parametrize("preset", sorted(LENGTH_STUDY))
def test_length_presets_train_on_five_digits_and_test_up_to_a_hundred(preset):
    model, fmt, reversed_ = LENGTH_STUDY[preset]
    cfg = compose([f"experiment={preset}"])
    validate(cfg)
    assert (cfg.model.name, cfg.format.name, cfg.format.reverse_output) == (model, fmt, reversed_)
    assert (cfg.data.operands, cfg.data.min_digits, cfg.data.max_digits) == ("digits", 1, 5)
    digits = sorted(s["digits"] for s in cfg.eval.sets.values())
    assert digits == [5, 10, 20, 50, 100]


def test_the_hints_preset_is_length_attention_with_hints_for_its_longest_set():
    hints, plain = (
        _flat(compose(["experiment=length_attention_hints"])),
        _flat(compose(["experiment=length_attention"])),
    )
    assert {k for k in hints if hints[k] != plain[k]} == {"format.position_hints"}
    assert int(hints["format.position_hints"]) >= 102  # 100-digit operands: 101 places, END


@pytest.mark.parametrize("preset", sorted(EXTENSIONS))
def test_extension_preset_is_its_baseline_plus_one_stated_change(preset):
    change, swept = EXTENSIONS[preset]
    baseline = _flat(compose(["experiment=ext_baseline"]))
    cfg = compose([f"experiment={preset}"], return_hydra_config=True)
    validate(cfg)
    sweep = dict(cfg.hydra.sweeper.params)
    assert sorted(sweep) == sorted([*swept, "seed"]) and sweep["seed"] == "1,2,3"
    extension = {k: v for k, v in _flat(cfg).items() if not k.startswith("hydra.")}
    differs = {k for k in extension if extension[k] != baseline[k]}
    assert differs == set(change)
    assert {k: extension[k] for k in change} == {k: str(v) for k, v in change.items()}


@pytest.mark.parametrize("preset", sorted(PUBLISHED))
def test_preset_composes_to_the_published_configuration(preset):
    cfg = compose([f"experiment={preset}"])
    validate(cfg)
    for section, values in PUBLISHED[preset].items():
        got = OmegaConf.to_container(cfg[section])
        assert {k: got[k] for k in values} == values, section


def test_no_arguments_is_the_default_preset():
    default, preset = compose(), compose([f"experiment={DEFAULT_PRESET}"])
    assert OmegaConf.to_container(default) == OmegaConf.to_container(preset)


def test_the_default_choices_are_those_of_the_composition_without_arguments():
    choices = compose(return_hydra_config=True).hydra.runtime.choices
    own = {g: o for g, o in choices.items() if not g.startswith("hydra/")}
    assert default_choices(CONF) == own


@pytest.mark.parametrize(
    ("overrides", "preset"),
    [
        ([], DEFAULT_PRESET),
        (["train.epochs=2", "model.encoder_units=[16]"], DEFAULT_PRESET),  # keys on top of it
        (["data=range", "hydra/launcher=basic"], DEFAULT_PRESET),  # defaults, and Hydra's own
        (["model=mlp"], None),
        (["eval=length"], None),
        (["hparams_search=seq2seq_optuna"], None),
        (["experiment=fast_tutorial"], "fast_tutorial"),
        (["experiment=fast_tutorial", "model=tagger"], "fast_tutorial"),
    ],
)
def test_a_run_is_the_chosen_preset_or_the_default_one_when_no_group_changed(overrides, preset):
    choices = compose(overrides, return_hydra_config=True).hydra.runtime.choices
    assert run_preset(choices, CONF) == preset


def test_schema_rejects_wrong_types_and_unknown_keys():
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match=r"train\.epochs"):
        compose(["train.epochs=abc"])
    with pytest.raises(ConfigCompositionException, match="units"):
        compose(["model.units=[3]"])  # the seq2seq schema has no `units`
    with pytest.raises(ConfigCompositionException):
        compose(["model=nope"])


@pytest.mark.parametrize(
    ("override", "key", "allowed"),
    [
        ("data.terms=0", "data.terms", ">= 1"),
        ("data.largest=-5", "data.largest", ">= 1"),
        ("data.low=20", "data.largest", ">= 20"),
        ("format.padding=middle", "format.padding", "left, right"),
        ("data.operands=primes", "data.operands", "range, digits"),
        ("train.batch_size=0", "train.batch_size", ">= 1"),
        ("train.epochs=0", "train.epochs", ">= 1"),
        ("train.optimizer=lbfgs", "train.optimizer", "adam"),
        ("train.learning_rate=0", "train.learning_rate", "> 0"),
        ("train.regime=weekly", "train.regime", "fresh, fixed"),
        ("train.val_fraction=1.5", "train.val_fraction", "[0, 1)"),
        ("train.checkpoint_every=-1", "train.checkpoint_every", ">= 0"),
        ("eval.examples=0", "eval.examples", ">= 1"),
        ("model.encoder_units=[]", "model.encoder_units", "at least one"),
        ("model.decoder_units=[0]", "model.decoder_units", ">= 1"),
        ("model.name=rnn_t", "model.name", "mapping_lstm, mlp, seq2seq, tagger"),
        ("train.regime=fixed", "train.examples", "space holds (100"),
    ],
)
def test_semantic_checks_name_the_key_and_what_is_allowed(override, key, allowed):
    with pytest.raises(ConfigError) as error:
        validate(compose([override]))
    assert key in str(error.value) and allowed in str(error.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.max_terms=1"], "data.max_terms=1 is out of range; it must be >= 2"),
        (
            ["data.operations=[+,%]"],
            "data.operations='%' is not allowed; choose one of: +, -, *, //",
        ),
        (["data.operations=[]"], "data.operations is empty"),
        (["data.operations=[+,+]"], "repeats an operation"),
        (["data.operations=[+,-]", "data.operation_weights=[1]"], "one positive weight per"),
        (["data.brackets=-1"], "data.brackets=-1 is out of range"),
        (
            ["format.padding=none"],
            "format.padding=none leaves variable-length questions to masking",
        ),
        (["encoding.name=morse"], "choose one of: onehot, integer, embedding"),
        (["model=mlp", "data.brackets=1", "data.operations=[+,*]"], "mapping framing"),
        (
            ["model=mapping_lstm", "data.operations=[-]"],
            "cannot express data.operations=['-']. Use data.operations=[+], or "
            "model=seq2seq, teacher_forcing, attention or transformer.",
        ),
        (  # only the key at fault is named
            ["model=tagger", "format=aligned", "data.brackets=1"],
            "it cannot express data.brackets=1. Use data.brackets=0, or",
        ),
        (["model=mlp", "encoding.masking=true"], "needs a model that can hide padding steps"),
        (["model=mlp", "train.mask_loss=true"], "seq2seq framing only"),
        (["train.distinct=unordered", "data.operations=[-]"], "holds for sums only"),
        (["eval.disjoint=true"], "eval.disjoint=true needs a problem space of at least"),
    ],
)
def test_combinations_that_make_no_sense_are_refused(overrides, message):
    with pytest.raises(ConfigError) as error:
        validate(compose(overrides))
    assert message in str(error.value)


def test_extension_options_compose_and_validate():
    cfg = compose(
        [
            "data.max_terms=4",
            "data.operations=[+,-,*,//]",
            "data.operation_weights=[2,1,1,1]",
            "data.brackets=2",
            "format.padding=none",
            "encoding.masking=true",
            "train.mask_loss=true",
            "format.reverse_output=true",
            "encoding=embedding",
            "data.largest=99",
            "eval.disjoint=true",
        ]
    )
    validate(cfg)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["+eval.sets.neg={operations: [-]}"], "eval.sets.neg needs the symbols '-'"),
        (["+eval.sets.brackets={brackets: 1, terms: 3}"], "needs the symbols '()'"),
        (["+eval.sets.wide={digitz: 3}"], "eval.sets.wide: Key 'digitz' not in"),
        (["+eval.sets.test={digits: 3}"], "a set's name is letters, digits and underscores"),
        (["+eval.sets.w={digits: 0}"], "eval.sets.w.digits=0 is out of range"),
        (["+eval.sets.w={digits: 2, digits_scale: 2}"], "sets both digits and digits_scale"),
        (["+eval.sets.w={max_digits: 1001, operands: digits}"], "must be <= 1000"),
        (["model=mlp", "eval=terms"], "terms_plus1 has questions of up to 3 terms; the run reads"),
        (["eval.objective=wide/exact_match"], "choose one of: test, val"),
        (["eval.objective=test/train_overlap"], "a metric a sweep can rank"),
        ([f"tracking.run_name={'r' * 501}"], "tracking.run_name has 501 characters"),
        ([f"tracking.experiment={'e' * 501}"], "tracking.experiment has 501 characters"),
        (["tracking.experiment="], "tracking.experiment is empty"),
        (["tracking.experiment=' '"], "tracking.experiment is empty"),
        ([f"+eval.sets.{'s' * 240}={{digits: 2}}"], "MLflow takes param keys of at most 250"),
        (["eval=length", "eval.objective=length_x2/accuracy"], "choose one of: length_x2/exact"),
        (["model.name=mlp"], "model.name=mlp does not match the model keys given"),
        (["data.max_digits=1001", "data.operands=digits"], "data.max_digits=1001 is out of range"),
        (["model=mlp", "data.largest=10000000000000000"], "exact only for sums below 2**53"),
    ],
)
def test_evaluation_sets_and_late_mistakes_are_caught_before_a_run(overrides, message):
    with pytest.raises(ConfigError) as error:
        validate(compose(overrides))
    assert message in str(error.value)


def test_one_layout_serves_every_set_unless_the_family_reads_any_length():
    from addexp.training.pipeline import build_pipeline

    mapping = build_pipeline(compose(["model=mlp", "+eval.sets.big={largest: 1000}"]))
    fmt = mapping.framing.text_format
    assert (fmt.question_width, fmt.answer_width) == (9, 4)  # "1000+1000" -> "2000"
    trained = build_pipeline(compose(["model=mlp"])).framing.text_format
    assert (trained.question_width, trained.answer_width) == (5, 2)
    seq2seq = build_pipeline(compose(["experiment=keras_addition_rnn", "eval=length"]))
    assert [s.name for s in seq2seq.sets] == ["length_x1", "length_x2", "length_x4", "length_x10"]
    assert [s.space.max_operand_digits for s in seq2seq.sets] == [3, 6, 12, 30]
    assert [s.space.low for s in seq2seq.sets] == [100, 10**5, 10**11, 10**29]
    fmt = seq2seq.framing.text_format  # reads any length: the training layout, widened per question
    assert (fmt.question_width, fmt.answer_width) == (7, 4)


def test_wide_operands_are_legal_and_validate(tmp_path):
    validate(compose(["experiment=keras_addition_rnn", "data.max_digits=21"]))
    validate(compose(["data.largest=10000000000000000000"]))
    validate(compose(["eval=terms", "eval.objective=terms_plus2/exact_match"]))
