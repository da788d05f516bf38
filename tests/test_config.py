"""Composition of every preset (real Hydra), the published values, and the semantic checks."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from addexp.config import ConfigError, validate
from tests.conftest import PRESETS, compose

PUBLISHED = {
    "tutorial_seq2seq": {
        "data": {
            "terms": 2,
            "operands": "range",
            "low": 1,
            "largest": 10,
            "padding": "left",
            "reverse_input": False,
        },
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
        "data": {"terms": 3, "operands": "range", "low": 1, "largest": 10, "padding": "left"},
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
        "train": {
            "regime": "fresh",
            "epochs": 50,
            "examples": 100,
            "batch_size": 2,
            "optimizer": "adam",
        },
    },
    "tutorial_mapping_mlp": {
        "data": {"terms": 2, "operands": "range", "low": 1, "largest": 100},
        "model": {"name": "mlp", "units": [4, 2], "activation": "linear"},
        "train": {
            "regime": "fresh",
            "epochs": 50,
            "examples": 100,
            "batch_size": 2,
            "optimizer": "adam",
        },
    },
    "keras_addition_rnn": {
        "data": {
            "terms": 2,
            "operands": "digits",
            "min_digits": 1,
            "max_digits": 3,
            "padding": "right",
            "reverse_input": True,
        },
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


def test_every_preset_is_checked_here():
    assert sorted(PUBLISHED) == PRESETS


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes_to_the_published_configuration(preset):
    cfg = compose([f"experiment={preset}"])
    validate(cfg)
    for section, values in PUBLISHED[preset].items():
        got = OmegaConf.to_container(cfg[section])
        assert {k: got[k] for k in values} == values, section


def test_no_arguments_is_the_tutorial_seq2seq_preset():
    default, preset = compose(), compose(["experiment=tutorial_seq2seq"])
    assert OmegaConf.to_container(default) == OmegaConf.to_container(preset)


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
        ("data.padding=middle", "data.padding", "left, right"),
        ("data.operands=primes", "data.operands", "range, digits"),
        ("train.batch_size=0", "train.batch_size", ">= 1"),
        ("train.epochs=0", "train.epochs", ">= 1"),
        ("train.optimizer=lbfgs", "train.optimizer", "adam"),
        ("train.learning_rate=0", "train.learning_rate", "> 0"),
        ("train.regime=weekly", "train.regime", "fresh, fixed"),
        ("train.val_fraction=1.5", "train.val_fraction", "[0, 1)"),
        ("eval.examples=0", "eval.examples", ">= 1"),
        ("model.encoder_units=[]", "model.encoder_units", "at least one"),
        ("model.decoder_units=[0]", "model.decoder_units", ">= 1"),
        ("model.name=transformer", "model.name", "mapping_lstm, mlp, seq2seq"),
        ("train.regime=fixed", "train.examples", "space holds (100"),
    ],
)
def test_semantic_checks_name_the_key_and_what_is_allowed(override, key, allowed):
    with pytest.raises(ConfigError) as error:
        validate(compose([override]))
    assert key in str(error.value) and allowed in str(error.value)


def test_sums_that_overflow_int64_are_refused():
    with pytest.raises(ConfigError, match="18 digits"):
        validate(compose(["data.largest=999999999999999999", "data.terms=20"]))
