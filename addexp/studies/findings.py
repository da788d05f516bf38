"""The `findings` study (docs/findings.md): each extension preset against its baseline over
seeds, and the Keras example's model on operands longer than it was trained on."""

from __future__ import annotations

from functools import cache

from addexp.studies.commands import COMMANDS, EXTENSIONS
from addexp.studies.study import Context, Study
from addexp.studies.tables import Row, Runs, Stat, Table, fetch, grouped, groups, verdict

TEST = "test/exact_match"
LENGTH_SETS = {
    "test": "test (the training distribution: operands of 1-3 digits)",
    "length_x1": "length_x1 (operands of exactly 3 digits, as trained)",
    "length_x2": "length_x2 (exactly 6)",
    "length_x4": "length_x4 (exactly 12)",
    "length_x10": "length_x10 (exactly 30)",
}


@cache
def baseline(extension: str) -> dict[str, str]:
    """The params that pick the baseline's runs out of the extension's sweep: the first value
    of each key its preset sweeps (seed excepted), as a run logs it; every extension preset lists
    its baseline first (`format.padding: left,per_term`)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from addexp.cli.entry import config_dir, register_schemas

    register_schemas()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        cfg = compose("config", [f"experiment={extension}"], return_hydra_config=True)
    swept = {k: str(v) for k, v in cfg.hydra.sweeper.params.items() if k != "seed"}
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in swept.items()])
    return {o.key_or_group: str(next(iter(o.sweep_iterator()))) for o in parsed}


def swept_keys(context: Context, extension: str) -> list[str]:
    """The config keys the extension's sweep varies, seed excepted (compare's rule)."""
    from addexp.cli.compare import varying_keys

    runs = fetch(context.uri, Runs("findings", f"tags.preset = '{extension}'"))
    return varying_keys([{"params": r.params} for r in runs])


def _summary(context: Context) -> tuple[Table, list[tuple[str, str]]]:
    rows, verdicts = [], []
    for extension in EXTENSIONS:
        chosen = Runs("findings", f"tags.preset = '{extension}'")
        base = Runs(chosen.experiment, chosen.filter, baseline(extension))
        base_ids = {r.run_id for r in fetch(context.uri, base)}
        for values in groups(context.uri, chosen, swept_keys(context, extension)):
            runs = {"main": Runs(chosen.experiment, chosen.filter, values), "baseline": base}
            if {r.run_id for r in fetch(context.uri, runs["main"])} == base_ids:
                continue
            change = ", ".join(f"`{k}={v}`" for k, v in values.items())
            rows.append(
                Row(
                    [
                        f"`{extension}`",
                        change,
                        Stat("median_range", TEST, runs="baseline"),
                        Stat("median_range", TEST, bold=True),
                        Stat("median", "test/train_overlap", digits=2),
                        Stat("verdict", TEST),
                    ],
                    runs,
                )
            )
            verdicts.append((f"`{extension}` ({change})", _verdict(context, runs)))
    header = [
        "extension",
        "change",
        "baseline: median (min-max)",
        "extension: median (min-max)",
        "train/test overlap (median)",
        "effect on test exact match",
    ]
    return Table(header, rows), verdicts


def _verdict(context: Context, runs: dict[str, Runs]) -> str:
    import numpy as np

    ours, theirs = (
        [r.metrics[TEST] for r in fetch(context.uri, runs[k])] for k in ("main", "baseline")
    )
    return verdict(np.array(ours), np.array(theirs))


def _reading(verdicts: list[tuple[str, str]]) -> str:
    said = []
    for word in ("higher, ranges apart", "within seed spread", "lower, ranges apart"):
        names = [name for name, found in verdicts if found == word]
        if names:
            said.append(f"- **{word}**: {'; '.join(names)}.")
    return (
        "`ext_brackets` is measured on a problem of its own (three one-digit terms), so its "
        "baseline is that problem without brackets, not `ext_baseline`. By the effect column "
        "(a change counts only where the ranges over seeds do not overlap):\n\n" + "\n".join(said)
    )


def _extensions(context: Context) -> list[str]:
    summary, verdicts = _summary(context)
    parts = [
        "## Summary",
        summary.markdown(context.uri, context.specs),
        _reading(verdicts),
        "## Per extension",
        'Each table is what `addexp-compare --experiment findings --filter "tags.preset = '
        "'NAME'\"` prints: test exact match over the seeds of each group.",
    ]
    for extension in EXTENSIONS:
        runs = Runs("findings", f"tags.preset = '{extension}'")
        table = grouped(context.uri, runs, swept_keys(context, extension), TEST)
        parts += [f"### {extension}", table.markdown(context.uri, context.specs)]
    return parts


def _length(context: Context) -> list[str]:
    keras = Runs("length_keras", "tags.preset = 'keras_addition_rnn'")
    table = Table(
        [
            "set",
            "exact match: median (min-max)",
            "char accuracy (median)",
            "train/test overlap (median)",
        ],
        [
            Row(
                [
                    label,
                    Stat("median_range", f"{name}/exact_match", bold=True),
                    Stat("median", f"{name}/char_accuracy"),
                    Stat("median", f"{name}/train_overlap", digits=2),
                ],
                {"main": keras},
            )
            for name, label in LENGTH_SETS.items()
        ],
    )
    return [
        "## Length generalisation: the Keras example's model on longer operands",
        "Does the `keras_addition_rnn` model (trained on 1-3 digit operands, 45,000 distinct "
        "questions) learn addition, or the training distribution? `eval=length` adds four "
        "evaluation sets of fresh questions whose operands have exactly 1x (3 digits, the "
        "trained length, for reference), 2x, 4x and 10x the trained digits.",
        "```bash\n" + COMMANDS["keras_length"].shown() + "\n```",
        table.markdown(context.uri, context.specs),
        "Exact match beside per-character accuracy: on longer operands the per-character "
        "figure counts padding and leading digits that happen to agree, while a whole answer "
        "is right or not. The decoder (RepeatVector, run for as many steps as the longer "
        "answer needs) was trained to write answers of at most four characters; "
        "`breakdown/<set>.png` of each run splits every set by carries and carry-chain "
        "length, and `predictions/<set>.csv` holds its answers.",
    ]


def body(context: Context) -> list[str]:
    return [
        "Each extension preset is `ext_baseline` plus one change, and its own sweep runs it "
        "against that baseline over seeds 1, 2 and 3 (`addexp -m experiment=NAME`).",
        "**The shared baseline** (`ext_baseline`): two-digit sums (2 terms in 0..99, 10,000 "
        "questions), left padding, one-hot input, LSTM(128) encoder, RepeatVector, LSTM(128) "
        "decoder, softmax per step; 30 epochs of 4,000 fresh problems, batch 32, Adam at "
        "`train.learning_rate=0.005`. The 1,000 test questions are held out of training "
        "(`eval.disjoint=true`), so the scores are on questions the model never saw, except "
        "where the overlap column says otherwise (a space smaller than the training draws, "
        "as `ext_brackets`' one-digit operands).",
        *_extensions(context),
        *_length(context),
        "## Left alone",
        "- The extension budget is the same for every row; a harder problem (variable terms, "
        "brackets) would need its own budget study before concluding anything about the "
        "model's capacity.\n"
        "- `train.mask_loss` (leaving answer padding out of the loss), `format.padding=none` "
        "and the `embedding` encoding are available and tested, but not measured here.",
    ]


STUDY = Study(
    name="findings",
    page="findings.md",
    title="Findings: the tutorial's extensions at equal budget",
    summary="each extension against its baseline; the Keras model on longer operands",
    commands=(*EXTENSIONS, "keras_length"),
    body=body,
)
