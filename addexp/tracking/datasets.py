"""The problems a run trained, validated and was tested on, logged as MLflow dataset inputs.

addexp's data is not read from files: it is drawn from a problem space (the `data` config) by
`addexp.problems.sampling`. Each set is logged with `mlflow.log_input` as a pandas dataset of the
questions
and answers as a person reads them, so the UI's Dataset column and a run's Datasets panel show
its name, digest, context (`training`, `validation`, `test`, or an evaluation set's name), row
count and columns. Only metadata goes to MLflow (schema, profile, digest and source), never rows.

- `name`: `addexp-<digest of the data config>`: the same name means the same problem space.
- `digest`: of the data config and the draw (seed, NumPy stream, size, regime), which together
  fix the rows, so two sets with the same digest hold the same problems.
- `source`: a `ProblemSource` (source type `addexp`, registered with MLflow through the
  `mlflow.dataset_source` entry point) holding the data config and the draw; loading it gives
  back the `ProblemSpace` the set was drawn from.

The `fresh` regime draws new problems every epoch, streamed in chunks; its training input
describes that whole stream (examples per epoch, epochs) while its rows, schema and profile are
the first chunk of the first epoch only (at most `addexp.training.batches.CHUNK` problems, tagged
`rows` saying so): nothing beyond one chunk is materialised for logging.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import mlflow
import pandas as pd
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.pandas_dataset import PandasDataset
from omegaconf import OmegaConf

from addexp.problems.space import Problems, ProblemSpace, space_from_config, space_to_config
from addexp.text.formats import render_expressions, render_integers

SOURCE_TYPE = "addexp"


def _digest(payload: Any) -> str:
    """First 8 hex digits of the SHA-256 of canonical JSON (MLflow's digests are 8 long too)."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def space_digest(data: Mapping[str, Any]) -> str:
    """Digest of a resolved `data` config section: equal for equal problem spaces and layouts."""
    return _digest(dict(data))


class ProblemSource(DatasetSource):
    """A problem space and how a set was drawn from it: the source of every addexp dataset.

    `data` is the resolved `data` config section, `draw` says how the rows were drawn (seed,
    stream, examples, sampler, regime, ...). Built directly, or resolved by MLflow from a mapping
    with those two keys; `load()` returns the `ProblemSpace`.
    """

    def __init__(self, data: Mapping[str, Any], draw: Mapping[str, Any]):
        self.data = dict(data)
        self.draw = dict(draw)

    @staticmethod
    def _get_source_type() -> str:
        return SOURCE_TYPE

    def load(self) -> ProblemSpace:
        """The problem space the set was drawn from (`addexp.problems.space.ProblemSpace`)."""
        return space_from_config(OmegaConf.create(self.data))

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return isinstance(raw_source, Mapping) and {"data", "draw"} <= set(raw_source)

    @classmethod
    def _resolve(cls, raw_source: Any) -> ProblemSource:
        return cls.from_dict(raw_source)

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "draw": self.draw}

    @classmethod
    def from_dict(cls, source_dict: Mapping[Any, Any]) -> ProblemSource:
        return cls(source_dict["data"], source_dict["draw"])


def problem_dataset(
    problems: Problems, data: Mapping[str, Any], draw: Mapping[str, Any]
) -> PandasDataset:
    """An MLflow dataset of `problems`: columns `question` and `answer` (strings, unpadded, as a
    person reads them; answers as exact integers in decimal), one row per problem.

    `data` is the resolved `data` config (plain mapping), `draw` how the rows were drawn (JSON
    values). Raises KeyError if `data` lacks a key `space_from_config` needs (on `load()`).
    """
    frame = pd.DataFrame(
        {
            "question": render_expressions(problems).astype(str),
            "answer": render_integers(problems.targets).astype(str),
        }
    )
    source = ProblemSource(data, draw)
    return mlflow.data.from_pandas(
        frame,
        source=source,
        targets="answer",
        name=f"addexp-{space_digest(data)}",
        digest=_digest(source.to_dict()),
    )


def log_problems(
    problems: Problems,
    context: str,
    data: Mapping[str, Any],
    draw: Mapping[str, Any],
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log `problems` to the active MLflow run as a dataset input used in `context`
    (`training`, `validation`, `test`, or an evaluation set's name); `tags` go on the input.

    Raises mlflow.exceptions.MlflowException when no run can be started or the store refuses.
    """
    mlflow.log_input(problem_dataset(problems, data, draw), context=context, tags=dict(tags or {}))


def training_logger(cfg: Any, stream: int) -> Callable[[str, Problems], None]:
    """An `on_data(context, problems)` hook for `addexp.training.fit.fit` that logs each set it
    draws
    from NumPy stream `stream` of `cfg.seed`; `cfg` is the run's composed config."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    t = cfg.train
    draw: dict[str, Any] = {"seed": cfg.seed, "stream": stream, "regime": t.regime}
    tags: dict[str, str] = {}
    fresh = t.regime == "fresh"
    if fresh:
        draw |= {"sampler": "sample", "examples_per_epoch": t.examples, "epochs": t.epochs}
        draw["rows"] = "epoch 0, chunk 0"
    else:
        draw |= {"sampler": "sample_distinct", "examples": t.examples, "distinct": t.distinct}
        draw["val_fraction"] = t.val_fraction
    draw["disjoint_from_test"] = cfg.eval.disjoint
    curriculum = t.get("curriculum")
    if curriculum is not None and curriculum.name != "none":  # addexp.training.curriculum
        draw["curriculum"] = curriculum.name

    def on_data(context: str, problems: Problems) -> None:
        if fresh:
            tags["rows"] = (
                f"the first chunk of epoch 1: {len(problems)} of its {t.examples} problems "
                f"(a new draw every epoch, {t.epochs} epochs)"
            )
        log_problems(problems, context, data, draw | {"part": context}, tags)

    return on_data


def log_test(cfg: Any, problems: Problems, stream: int) -> None:
    """Log the test set, drawn with `addexp.problems.sampling.sample` from NumPy stream `stream` of
    `cfg.seed`; `cfg` is the run's composed config."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    draw = {"seed": cfg.seed, "stream": stream, "sampler": "sample", "examples": len(problems)}
    log_problems(problems, "test", data, draw)


def log_eval_set(cfg: Any) -> Callable[[str, Problems, ProblemSpace], None]:
    """An `on_data(name, problems, space)` hook that logs each evaluation set as a dataset
    input of its own name, with its own space as the source's data config."""

    def on_data(name: str, problems: Problems, space: ProblemSpace) -> None:
        draw = {"seed": cfg.seed, "set": name, "sampler": "sample", "examples": len(problems)}
        log_problems(problems, name, space_to_config(space), draw)

    return on_data
