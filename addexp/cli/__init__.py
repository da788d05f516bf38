"""The commands: `addexp` (train), `addexp-predict`, `addexp-eval`, `addexp-compare` and
`addexp-runs`, one module each, sharing `addexp.cli.entry` (the schemas, the checks, the exit
status of a refusal).

Importing the package sets the console's defaults before TensorFlow or MLflow is imported
anywhere (a variable the user set is kept): TensorFlow's C++ log at warnings, and no
artifact-download bars between a command's own lines.

It may import `addexp.sweeps` and every package below it.
"""

import os

EXIT_USAGE = 2  # the exit status of a refused command line or config: nothing was run

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
