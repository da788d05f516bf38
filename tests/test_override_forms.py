"""Every form of Hydra's override grammar names its key the same way, through the real `addexp`
and `addexp-compare` into a real SQLite store; what the sweep controller resolves; a preset
and a group option chosen together."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import HydraException
from mlflow.tracking import MlflowClient

from addexp.config.checks import ConfigError, known_keys
from addexp.config.interpolation import resolved
from addexp.config.presets import clash, read_presets
from addexp.sweeps.callback import child_name
from addexp.sweeps.plan import swept_keys
from tests.conftest import CONF, TINY, addexp, compose

FAST = [*TINY, "train.epochs=1", "eval.examples=20", "eval.show=0", "tracking.log_model=false"]
FORMS = {  # a sweep override of each form, and the plain key it sweeps
    "++train.batch_size=16,32": "train.batch_size",
    "+eval.sets.wide={digits:2},{digits:3}": "eval.sets.wide",
    "seed=range(1,2)": "seed",
    "train.learning_rate=choice(0.01)": "train.learning_rate",
    "train.epochs=sort(choice(1))": "train.epochs",
    "train.examples=shuffle(choice(64))": "train.examples",
    "encoding=glob(onehot)": "encoding",
    "eval.disjoint=tag(t,choice(false))": "eval.disjoint",
}
FIXED = ["eval=length", "~eval.sets.length_x10", "~eval.sets.length_x4", "tracking.run_name=null"]


def _runs(uri: str):
    client = MlflowClient(uri)
    return client.search_runs([client.get_experiment_by_name("addexp").experiment_id])


@pytest.mark.slow
def test_every_form_names_the_plain_key_in_names_tags_params_and_compare(tmp_path):
    done = addexp(["-m", *FAST, *FIXED, *FORMS], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs = _runs(uri)
    parent = next(r for r in runs if "sweep.keys" in r.data.tags)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.data.tags["sweep.keys"] == ",".join(FORMS.values())
    assert len(children) == 4 and {c.info.status for c in children} == {"FINISHED"}
    for child in children:
        assert "+" not in child.info.run_name and "~" not in child.info.run_name
        assert child.info.run_name.startswith("train.batch_size=")
        named = dict(part.split("=", 1) for part in child.info.run_name.split(","))
        assert list(named) == list(FORMS.values())
        assert named["eval.sets.wide"] in ("{digits:2}", "{digits:3}")
        for key in FORMS.values():  # the UI's columns: a param per plain key
            assert key in child.data.params or f"{key}.digits" in child.data.params, key
        assert child.data.params["encoding"] == "onehot"
        assert "length_x10" not in str(child.data.params)  # ~ removed it
    compared = subprocess.run(
        [str(Path(sys.executable).with_name("addexp-compare")), "--uri", uri, "--parent",
         parent.info.run_id, "--no-log"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    header = next(line for line in compared.stdout.splitlines() if line.startswith("| "))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[: len(FORMS) - 1] == [k for k in FORMS.values() if k != "seed"]
    rows = [line for line in compared.stdout.splitlines() if line.startswith("| 16") or
            line.startswith("| 32")]  # fmt: skip
    assert len(rows) == 4 and all("{digits: 2}" in r or "{digits: 3}" in r for r in rows)


def test_a_drawn_sweep_outside_a_search_is_refused_before_any_store(tmp_path):
    for form in ("seed=interval(0,1)", "train.learning_rate=tag(log,interval(0.001,0.1))"):
        done = addexp(["-m", *FAST, form], tmp_path)
        assert done.returncode == 2, done.stderr[-2000:]
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert f"addexp: invalid sweep: {form}: Hydra's basic sweeper" in done.stderr
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_an_interpolation_only_a_job_resolves_goes_to_the_job(tmp_path):
    done = addexp(["-m", *FAST, "seed=1,2", "tracking.run_name=run-${hydra:job.num}"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    names = {r.info.run_name for r in _runs(f"sqlite:///{tmp_path / 'mlflow.db'}")}
    assert {"run-0", "run-1"} <= names


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("${foo:1}", "no resolver is called 'foo'"),
        ("${oc.env:ADDEXP_NO_SUCH_VARIABLE}", "the resolver `oc.env` gave no value here"),
        ("${train.exmples}", "Interpolation key 'train.exmples' not found"),
    ],
)
def test_a_message_about_an_interpolation_names_what_failed(value, said):
    cfg = compose([f"tracking.run_name={value}"])
    with pytest.raises(ConfigError, match=re.escape(f"tracking.run_name={value}")) as refused:
        resolved(cfg)
    assert said in str(refused.value)


def test_a_key_given_twice_is_swept_only_if_its_last_override_sweeps():
    from addexp.sweeps.plan import _repeated_keys

    assert swept_keys(["train.epochs=2,1", "train.epochs=1", "seed=1,2"], None) == ["seed"]
    assert swept_keys(["seed=1", "++seed=1,2"], None) == ["seed"]
    assert _repeated_keys(["train.epochs=2,1", "++train.epochs=1", "seed=1,2"]) == [
        "train.epochs is given 2 times (train.epochs=2,1, ++train.epochs=1); Hydra keeps the "
        "last, ++train.epochs=1."
    ]


def test_every_form_s_job_overrides_name_the_plain_key():
    keys = swept_keys(["++a=1,2", "+b=x,y", "c=range(1,3)", "d@pkg=1,2", "e=1"], {"++f": "1,2"})
    assert keys == ["a", "b", "c", "d@pkg", "f"]
    job = ["++a=1", '+b="x,y"', "c=2", "d@pkg=1", "e=1", "++f=2", "~g", r"h=a\$\{seed\}"]
    assert child_name(job, [*keys, "g", "h"]) == 'a=1,b="x,y",c=2,d@pkg=1,f=2,g=~,h=a${seed}'


MODEL_KEYS = sorted(p.name for p in read_presets(CONF).values() if p.keys.get("model"))
FAMILIES = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))


@pytest.mark.parametrize("preset", MODEL_KEYS)
def test_a_preset_and_a_family_that_do_not_fit_are_told_what_fits(preset):
    """Every preset that sets model keys, with every family: where they cannot compose, the
    advice names the preset's keys, and every choice it offers composes."""
    for family in FAMILIES:
        try:
            compose([f"experiment={preset}", f"model={family}"])
            continue
        except HydraException as error:
            cause = error.__cause__ or error.__context__
            missing = str(cause.full_key).split(".", 1)[1]
        advice = clash(CONF, preset, "model", family, missing)
        assert advice and f"experiment={preset} sets model." in advice, (family, advice)
        offered = advice.partition("Choose instead: ")[2].rstrip(".").split(" or ")
        for choice in filter(None, offered):
            compose(choice.split())


def test_the_command_names_the_preset_its_keys_and_what_to_choose(tmp_path):
    done = addexp(["experiment=keras_addition_rnn", "model=teacher_forcing"], tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert (
        "experiment=keras_addition_rnn sets model.encoder_units, model.decoder_units, made for "
        "its model=seq2seq; model=teacher_forcing has no key encoder_units. Choose instead: "
        "experiment=keras_teacher_forcing or experiment=keras_base model=teacher_forcing."
    ) in done.stderr


@pytest.mark.parametrize(
    ("sweep", "refused"),
    [
        (["experiment=keras_addition_rnn", "model=teacher_forcing,attention"], 2),
        # tagger, teacher_forcing, transformer
        (["experiment=keras_addition_rnn", "model=glob(t*)"], 3),
        (
            [
                "experiment=keras_addition_rnn,keras_teacher_forcing",
                "model=seq2seq,teacher_forcing",
            ],
            2,
        ),
        (["train.batch_size=abc,32"], 1),
        (["model=nosuch,tagger"], 1),
        (["train.batch_siz=16,32"], 2),
    ],
)
def test_a_sweep_whose_jobs_do_not_compose_is_refused_before_anything_runs(
    tmp_path, sweep, refused
):
    """Hydra's launcher would compose each job only as it starts it and stop the sweep at the
    first that fails; the controller composes them all first, names each that fails (a preset's
    keys on another option with what to choose instead) and opens no store, no parent."""
    done = addexp(["-m", *sweep], tmp_path)
    assert done.returncode == 2, done.stderr
    told = [line for line in done.stderr.splitlines() if line.startswith("addexp:")]
    assert len(told) == 1 and told[0].startswith("addexp: invalid sweep: "), done.stderr
    assert f" {refused} of " in told[0] and "do not compose, so none ran" in told[0]
    clashes = sum("experiment=keras" in o for o in sweep)
    assert told[0].count("Choose instead: ") == (refused if clashes else 0), told[0]
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize(
    "section", ["", "data.", "format.", "encoding.", "model.", "train.", "eval.", "tracking."]
)
def test_a_key_added_with_plus_must_be_one_the_schema_has(section):
    with pytest.raises(ConfigError, match=re.escape(f"{section}nokey is not a key of")):
        known_keys(compose([f"+{section}nokey=1"]))
    known_keys(compose(["+eval.sets.wide={digits: 3}"]))  # a free section takes new keys


def test_a_mistyped_added_key_stops_the_command(tmp_path):
    done = addexp([*FAST, "+train.epoch=1"], tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "train.epoch is not a key of train; its keys: epochs," in done.stderr
    assert not (tmp_path / "mlflow.db").exists()
