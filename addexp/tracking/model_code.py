"""What MLflow runs to load a run's logged model (models from code): the installed addexp's
`QuestionModel` (`addexp.tracking.pyfunc`), with addexp's quiet console (`addexp.cli`:
TensorFlow's start-up lines held back unless TF_CPP_MIN_LOG_LEVEL says otherwise)."""

from mlflow.models import set_model

try:
    import addexp.cli  # noqa: F401 - before the model imports TensorFlow
    from addexp.tracking.pyfunc import QuestionModel
except ImportError as error:  # pragma: no cover - only where addexp is missing
    raise ImportError(
        "this MLflow model is an addexp model: install addexp (the version its requirements "
        f"name) to load it ({error})"
    ) from None

set_model(QuestionModel())
