"""What MLflow runs to load a run's logged model (models from code): the installed addexp's
`QuestionModel` (`addexp.tracking.pyfunc`), TensorFlow's start-up lines held back unless
TF_CPP_MIN_LOG_LEVEL says otherwise (`addexp.console.quiet_tensorflow`)."""

from mlflow.models import set_model

try:
    from addexp.console import quiet_tensorflow
    from addexp.tracking.pyfunc import QuestionModel
except ImportError as error:  # pragma: no cover - only where addexp is missing
    raise ImportError(
        "this MLflow model is an addexp model: install addexp (the version its requirements "
        f"name) to load it ({error})"
    ) from None

quiet_tensorflow()  # before the model imports TensorFlow
set_model(QuestionModel())
