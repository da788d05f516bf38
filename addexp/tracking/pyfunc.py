"""The model a run logs: MLflow's python_function flavour with the run's text format inside.

`mlflow.pyfunc.load_model("runs:/ID/model").predict(["12+50", "7+10"])` (or a DataFrame with
a `question` column, or `mlflow models serve` and `POST /invocations`) answers questions typed
as text: a DataFrame with `question` (as read: spaces dropped), `answer`, `beyond_training`
(its operands or term count lie outside the run's training space: the answer tests
generalisation, as `addexp-predict`'s note says) and, from a decoder that writes symbol by
symbol, `log_probability` (natural log of the answer's probability under the model). Each
question goes through `addexp.tracking.answering` (parse, the one rule of what the run can
take) and the decode step the run was scored with, so it answers exactly as
`addexp-predict --run ID` and the run's `predictions/<set>.csv` do. `params={"beam_width": N}`
decodes by beam search of width N, for the families that search.

The model directory holds the Keras model (`artifacts/model.keras`, free lengths), the run's
resolved config and layout, the signature and an input example, and `model_code.py`, the code
MLflow runs to load it (models from code: it builds this class from the installed addexp). It
loads where the addexp that logged it is installed; another version is refused in one line
(`IncompatibleModel`), as a layout this addexp rebuilds differently is.

One model per run, not a Keras-flavour model beside it: the Keras model travels inside and
`LoggedRun.load_model` takes it from there, so there is one thing to load, serve and register.
"""

from __future__ import annotations

import json
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

KERAS, CONFIG, LAYOUT = "keras_model", "config", "layout"
VERSION_KEY = "addexp_version"
CODE = Path(__file__).with_name("model_code.py")


class IncompatibleModel(MlflowException):
    """A logged model that this installation cannot read as it was trained: one line."""


def installed_version() -> str:
    try:
        return version("addexp")
    except PackageNotFoundError:
        return "not installed"


def questions_of(model_input: Any) -> list[str]:
    """The questions of a predict call: a DataFrame's `question` column (a one-column frame
    whatever its name), a Series, an array or a list of strings, or one string. Raises
    MlflowException (HTTP 400 when served) for anything else."""
    if isinstance(model_input, pd.DataFrame):
        if "question" in model_input.columns:
            model_input = model_input["question"]
        elif model_input.shape[1] == 1:
            model_input = model_input.iloc[:, 0]
        else:
            raise _bad(f"the input needs a `question` column; it has {list(model_input.columns)}")
    if isinstance(model_input, str):
        model_input = [model_input]
    questions = list(np.asarray(model_input, dtype=object).ravel())
    if not all(isinstance(q, str) for q in questions):
        raise _bad("every question is a string such as '12+50'")
    return questions


def _bad(message: str) -> MlflowException:
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class QuestionModel(mlflow.pyfunc.PythonModel):
    """Questions as text in, answers out (see the module docstring)."""

    def load_context(self, context: Any) -> None:
        import keras
        from omegaconf import OmegaConf

        from addexp.models import load_layers
        from addexp.training.pipeline import build_pipeline, layout

        logged = (context.model_config or {}).get(VERSION_KEY)
        if logged != installed_version():
            raise IncompatibleModel(
                f"this model was logged by addexp {logged}; the installed addexp is "
                f"{installed_version()}: install the version that logged it to load it."
            )
        self.cfg = OmegaConf.load(context.artifacts[CONFIG])
        self.pipeline = build_pipeline(self.cfg)
        trained = json.loads(Path(context.artifacts[LAYOUT]).read_text())
        if trained != layout(self.pipeline):
            raise IncompatibleModel(
                f"this model was trained with the layout {trained}, which this addexp rebuilds "
                f"as {layout(self.pipeline)}; use the addexp version that trained it."
            )
        load_layers(self.pipeline.family)
        self.model = keras.saving.load_model(context.artifacts[KERAS], compile=False)
        self._searches: dict[int, Any] = {}

    def pipeline_for(self, beam_width: int | None) -> Any:
        """The run's pipeline, decoding by beam search of `beam_width` when given."""
        from addexp.tracking.logged_run import RunError, with_beam_width
        from addexp.training.pipeline import build_pipeline

        if beam_width is None or beam_width == self.cfg.model.get("beam_width"):
            return self.pipeline
        if beam_width not in self._searches:
            if int(beam_width) < 1:
                raise _bad(f"{beam_width}: a beam width is an integer >= 1 (1: greedy)")
            try:
                cfg = with_beam_width(self.cfg, int(beam_width))
            except RunError as error:
                raise _bad(str(error)) from None
            self._searches[beam_width] = build_pipeline(cfg)
        return self._searches[beam_width]

    # `pd.DataFrame` is what MLflow hands over once the signature is enforced, and a hint from
    # which MLflow infers no schema of its own (a `list[...]` hint would replace the signature)
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        from addexp.evaluation.decode import decode
        from addexp.problems.questions import QuestionError
        from addexp.tracking.answering import read_problems, typed

        questions = questions_of(model_input)
        pipeline = self.pipeline_for((params or {}).get("beam_width"))
        try:
            problems = read_problems(pipeline, questions)
        except QuestionError as error:
            raise _bad(str(error)) from None
        answers = decode(self.model, pipeline.family, pipeline.framing, problems).answers
        frame = {
            "question": typed(questions),
            "answer": answers.text,
            "beyond_training": ~pipeline.space.holds(problems),
        }
        if answers.log_prob is not None:
            frame["log_probability"] = answers.log_prob
        return pd.DataFrame(frame)


def signature(cfg: Any) -> Any:
    """Text in (one column of questions), text out (`question`, `answer`, `beyond_training`),
    and for a family
    that searches (`model.beam_width`: it writes symbol by symbol) `log_probability` out and
    `beam_width` in (default: the run's own)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    outputs = [
        ColSpec("string", "question"),
        ColSpec("string", "answer"),
        ColSpec("boolean", "beyond_training"),
    ]
    params = None
    if "beam_width" in cfg.model:
        outputs.append(ColSpec("double", "log_probability"))
        params = ParamSchema([ParamSpec("beam_width", "long", int(cfg.model.beam_width))])
    # one unnamed column: a list of strings and a DataFrame with a `question` column both fit
    return ModelSignature(Schema([ColSpec("string")]), Schema(outputs), params)


def log_question_model(model: Any, cfg: Any, pipeline: Any, example: list[str]) -> None:
    """Log the run's model as `model` (this flavour) in the active run; `example`: a few
    questions as text (the input example)."""
    import keras
    import tensorflow as tf
    from omegaconf import OmegaConf

    from addexp.models.unrolling import free_length
    from addexp.training.pipeline import layout

    with tempfile.TemporaryDirectory() as folder:
        keras_path = Path(folder) / "model.keras"
        keras.saving.save_model(free_length(model), keras_path)
        config_path = Path(folder) / "resolved.yaml"
        config_path.write_text(OmegaConf.to_yaml(cfg, resolve=True))
        layout_path = Path(folder) / "layout.json"
        layout_path.write_text(json.dumps(layout(pipeline)))
        mlflow.pyfunc.log_model(
            name="model",
            python_model=str(CODE),
            artifacts={KERAS: str(keras_path), CONFIG: str(config_path), LAYOUT: str(layout_path)},
            signature=signature(cfg),
            input_example=pd.DataFrame({"question": example}),
            model_config={VERSION_KEY: installed_version()},
            pip_requirements=[
                f"addexp=={installed_version()}",
                f"keras=={keras.__version__}",
                f"tensorflow-cpu=={tf.__version__}",
            ],
        )
