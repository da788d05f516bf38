"""The `addexp` sweeps the studies run, each once, whatever the studies that read its runs.

Every command runs in the study's folder with the study's own store (`tracking.uri`), writes
no model (`tracking.log_model=false`) and shows no sample answers (`eval.show=0`). `--tiny`
runs the same sweeps on seeds 1 and 2 with one epoch of 64 examples and 32 test questions per
set: every step of a study in minutes, numbers that mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

TINY_SEEDS = "1,2"
TINY = ("train.epochs=1", "train.examples=64", "eval.examples=32")
COMMON = ("eval.show=0", "tracking.log_model=false")
JOBLIB = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
PUBLISHED = (
    "tutorial_seq2seq",
    "tutorial_seq2seq_2020",
    "tutorial_mapping_lstm",
    "tutorial_mapping_mlp",
)
EXTENSIONS = (
    "ext_per_term_padding",
    "ext_reversal",
    "ext_masking",
    "ext_integer_encoding",
    "ext_operations",
    "ext_variable_terms",
    "ext_brackets",
)


@dataclass(frozen=True)
class Command:
    """One `addexp -m` sweep: its overrides, the seeds it sweeps on the command line (None: the
    preset's own sweep says, and `--tiny` narrows them) and what `--tiny` adds."""

    name: str
    args: tuple[str, ...]
    seeds: str | None = "1,2,3"
    tiny: tuple[str, ...] = ()

    def argv(self, uri: str, tiny: bool) -> list[str]:
        """`addexp`'s arguments for the store at `uri`."""
        seeds = (TINY_SEEDS if tiny else self.seeds) if self.seeds else None
        extra = [*TINY, *self.tiny] if tiny else []
        return [
            "-m",
            *self.args,
            *([f"seed={seeds}"] if seeds else []),
            *COMMON,
            f"tracking.uri={uri}",
            *extra,
        ]

    def shown(self) -> str:
        """The command as it ran, but for the study's own store (`tracking.uri`)."""
        seeds = [f"seed={self.seeds}"] if self.seeds else []
        return " ".join(["addexp", "-m", *self.args, *seeds, *COMMON])


def _commands() -> dict[str, Command]:
    made = [
        Command("presets", (f"experiment={','.join(PUBLISHED)}", "tracking.experiment=presets")),
        Command(
            "keras_length",
            (
                "experiment=keras_addition_rnn",
                "eval=length",
                *JOBLIB,
                "tracking.experiment=length_keras",
            ),
        ),
        Command("sweep", ("train.batch_size=10,32", "tracking.experiment=sweep"), seeds="1,2"),
        Command(
            "basic",
            (
                "experiment=tutorial_seq2seq",
                "train.batch_size=10,32,64,128",
                "tracking.experiment=basic",
            ),
            seeds="1,2",
        ),
        Command(
            "joblib",
            (
                *JOBLIB,
                "experiment=tutorial_seq2seq",
                "train.batch_size=10,32,64,128",
                "tracking.experiment=joblib",
            ),
            seeds="1,2",
        ),
        Command(
            "optuna",
            ("hparams_search=seq2seq_optuna", "tracking.experiment=optuna"),
            seeds=None,
            tiny=("hydra.sweeper.n_trials=3", "hydra.sweeper.sampler.n_startup_trials=2"),
        ),
    ]
    made += [
        Command(
            name,
            (f"experiment={name}", *JOBLIB, "tracking.experiment=findings"),
            seeds=None,
            tiny=(f"seed={TINY_SEEDS}",),
        )
        for name in EXTENSIONS
    ]
    return {c.name: c for c in made}


COMMANDS = _commands()
