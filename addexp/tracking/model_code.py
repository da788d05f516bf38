"""What MLflow runs to load a run's logged model (models from code): the installed addexp's
`QuestionModel` (`addexp.tracking.pyfunc`)."""

from mlflow.models import set_model

try:
    from addexp.tracking.pyfunc import QuestionModel
except ImportError as error:  # pragma: no cover - only where addexp is missing
    raise ImportError(
        "this MLflow model is an addexp model: install addexp (the version its requirements "
        f"name) to load it ({error})"
    ) from None

set_model(QuestionModel())
