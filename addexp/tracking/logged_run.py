"""A finished run read back from its MLflow store: resolved config, layout and model.

`addexp-predict` and `addexp-eval` rebuild the run's pipeline from its own `config/resolved.yaml`
(the same code path as training) and check it against the `config/layout.json` the run logged,
so a model is always fed questions exactly as it was trained to read them.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from addexp.tracking.environment import URI_HELP, default_uri
from addexp.training.pipeline import Pipeline, build_pipeline, layout


class RunError(ValueError):
    """A run that cannot be read (missing store, run, model or config): one line."""


def add_run_arguments(parser: Any) -> None:
    """`--run` or `--model`, and `--uri`, as every reader of a logged run takes them
    (argparse); the one given is `args.run`."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--run",
        help=f"run id, a model URI runs:/RUN_ID/model, or {LAST} (the newest finished run)",
    )
    which.add_argument(
        "--model",
        dest="run",
        metavar="MODEL_URI",
        help="a registered model: models:/NAME@ALIAS (e.g. models:/adder@champion), "
        "models:/NAME/VERSION or models:/NAME/latest; or runs:/RUN_ID/model",
    )
    parser.add_argument("--uri", help=URI_HELP)


LAST = "last"  # `--run last`: the newest finished run that addexp trained in the store


def run_id_of(run: str) -> str:
    """A run id from `RUN_ID` or a model URI `runs:/RUN_ID/model`."""
    match = re.fullmatch(r"runs:/([^/]+)(/.*)?", run)
    return match.group(1) if match else run


def newest_run(client: Any, uri: str) -> str:
    """The id of the newest FINISHED run addexp trained in the store at `uri`, in any
    experiment (a sweep's parent, which trains nothing, is passed over): what `--run last`
    names. Raises RunError when the store holds none."""
    from mlflow.entities import ViewType

    experiments = [e.experiment_id for e in client.search_experiments(ViewType.ACTIVE_ONLY)]
    runs = client.search_runs(
        experiments,
        "attributes.status = 'FINISHED' and tags.model != ''",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    ) if experiments else []  # fmt: skip
    if not runs:
        raise RunError(
            f"--run {LAST}: the store {uri} holds no finished run trained by addexp; "
            "train one first."
        )
    return runs[0].info.run_id


@dataclass
class LoggedRun:
    """A run's id, store, resolved config, rebuilt pipeline, status and the epochs it trained
    (`train/epochs_trained`; `train.epochs` for a run that did not log it)."""

    run_id: str
    uri: str
    cfg: DictConfig
    pipeline: Pipeline
    status: str
    epochs_trained: int

    def load_model(self) -> Any:
        """The run's Keras model: from inside its question model (`addexp.tracking.pyfunc`),
        or, for a run logged before that model existed, MLflow's Keras flavour. The model's
        folder is downloaded once, into a temporary folder removed afterwards (MLflow's own
        loaders would leave a copy in the system's temporary folder at every call). Raises
        RunError without a model, or for one this addexp cannot read (`IncompatibleModel`)."""
        import mlflow
        from mlflow.models import Model
        from mlflow.tracking import MlflowClient

        # MLflow resolves a run's logged model through the global tracking URI, even for a
        # client given its own: without this, a store other than ./mlflow.db is not found.
        mlflow.set_tracking_uri(self.uri)
        client = MlflowClient(self.uri)
        if not client.list_artifacts(self.run_id, "model"):
            raise RunError(
                f"run {self.run_id} in {self.uri} has no logged model "
                "(it was trained with tracking.log_model=false)."
            )
        with tempfile.TemporaryDirectory(prefix="addexp-model-") as folder:
            local = client.download_artifacts(self.run_id, "model", folder)
            if "keras" in Model.load(local).flavors:
                return mlflow.keras.load_model(local)
            from addexp.tracking.pyfunc import IncompatibleModel

            try:
                return mlflow.pyfunc.load_model(local).unwrap_python_model().model
            except IncompatibleModel as error:
                raise RunError(f"run {self.run_id}: {error.message}") from None

    def decoded_with(self, beam_width: int) -> LoggedRun:
        """The same run decoded by beam search of `beam_width` (1: greedy) instead of its
        own; the weights are the run's. Raises RunError as `with_beam_width`."""
        cfg = with_beam_width(self.cfg, beam_width)
        return replace(self, cfg=cfg, pipeline=build_pipeline(cfg))


def parse_beam_width(text: str) -> int:
    """A beam width typed on a command line (`addexp-predict --beam-width`, `addexp-eval
    model.beam_width=`). Raises RunError for anything but an integer >= 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise RunError(f"{text}: a beam width is an integer >= 1 (1: greedy)")
    return int(text)


def with_beam_width(cfg: DictConfig, beam_width: int) -> DictConfig:
    """A copy of a run's config that decodes by beam search of `beam_width` (>= 1, as
    `parse_beam_width` reads it; 1: greedy). Raises RunError for a model that decodes in one
    pass (no `model.beam_width`)."""
    if "beam_width" not in cfg.model:
        raise RunError(f"model={cfg.model.name} has no model.beam_width; it decodes in one pass.")
    cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    cfg.model.beam_width = beam_width
    return cfg


def _run_id(client: Any, uri: str, run: str) -> str:
    """The run `run` names: `last`, a registered model's URI, `runs:/ID/...` or an id."""
    from addexp.tracking.model_registry import RegistryError, run_of

    if run == LAST:
        return newest_run(client, uri)
    if run.startswith("models:/"):
        try:
            return run_of(uri, run)
        except RegistryError as error:
            raise RunError(str(error)) from None
    return run_id_of(run)


def open_run(run: str, uri: str | None = None) -> LoggedRun:
    """Read run `run` (an id, `runs:/ID/...`, `last` or a registered model's `models:/...`)
    from store `uri` (default: `mlflow.db` here).
    Raises RunError naming the store when the store, the run or its config is missing."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from addexp.tracking.store_checks import StoreError, check_store

    uri = uri or default_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise RunError(f"no MLflow store at {uri}; name the store with --uri.")
    try:
        check_store(uri)  # a server that does not answer fails here, in seconds
    except StoreError as error:
        raise RunError(f"--uri {uri}: {error}") from None
    client = MlflowClient(uri)
    run_id = _run_id(client, uri, run)
    try:
        logged_run = client.get_run(run_id)
    except MlflowException:
        raise RunError(f"run {run_id!r} does not exist in the store {uri}.") from None
    with tempfile.TemporaryDirectory() as folder:
        try:
            resolved = client.download_artifacts(run_id, "config/resolved.yaml", folder)
        except (MlflowException, OSError):
            raise RunError(
                f"run {run_id} in {uri} has no config/resolved.yaml: it was not made by addexp."
            ) from None
        cfg = OmegaConf.load(resolved)
        try:
            logged = json.loads(
                Path(client.download_artifacts(run_id, "config/layout.json", folder)).read_text()
            )
        except (MlflowException, OSError):
            logged = None
    pipeline = build_pipeline(cfg)
    if logged is not None and logged != layout(pipeline):
        raise RunError(
            f"run {run_id} was trained with the layout {logged}, which this version of addexp "
            f"rebuilds as {layout(pipeline)}; use the addexp version that trained it."
        )
    trained = logged_run.data.metrics.get("train/epochs_trained", cfg.train.epochs)
    return LoggedRun(run_id, uri, cfg, pipeline, logged_run.info.status, int(trained))
