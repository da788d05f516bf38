"""The training checkpoint: written after every completed epoch, logged to the run as artifacts.

    checkpoints/last.weights.h5   every layer's weights and the optimizer's state (Adam's moments,
                                  its iteration count): Keras' own `save_weights` format
    checkpoints/state.json        epochs completed, a fingerprint of the training data (the
                                  fixed set, or the fresh regime's first chunk) and the metrics
                                  of every epoch so far

`addexp train.resume=RUN_ID` reads them back (see `addexp.tracking.resume`). Every draw of training
data
is a pure function of the seed, the epoch and the chunk (`addexp.training.batches`), so the epochs
done
are all a resumed run needs to go on with the same data; the fingerprint tells it whether this
addexp draws the data the checkpoint was trained on. Keras' `BackupAndRestore` and
`ModelCheckpoint` callbacks are not used: BackupAndRestore deletes its backup when `fit`
completes and keeps it in a folder of its own, and neither records the data or the per-epoch
metrics or sends anything to the run. Writing happens inside `faults.deferred()`, so a signal
never leaves one file new and the other old.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from addexp.training import faults

WEIGHTS, STATE, ARTIFACT_DIR = "last.weights.h5", "state.json", "checkpoints"
log = logging.getLogger("addexp")


@dataclass
class Progress:
    """Where training stands after `epochs_done` completed epochs: the fingerprint of its
    training data (`addexp.training.batches.fingerprint`) and one dict of metrics per epoch
    (`train/loss`, ...)."""

    epochs_done: int = 0
    data_digest: str = ""
    history: list[dict[str, float]] = field(default_factory=list)


def save(model: Any, progress: Progress, folder: Path) -> None:
    """Write the checkpoint of compiled `model` and `progress` into `folder` (replacing the
    previous one; files go to a sibling `.partial` folder first, then are moved in)."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    model.save_weights(partial / WEIGHTS)
    (partial / STATE).write_text(json.dumps(progress.__dict__))
    folder.mkdir(parents=True, exist_ok=True)
    for name in (WEIGHTS, STATE):
        (partial / name).replace(folder / name)
    partial.rmdir()


def read_progress(folder: Path) -> Progress:
    """`state.json` of a checkpoint in `folder`. Raises OSError (missing) or ValueError (not a
    checkpoint's state, or one written by an addexp whose data streams were another's)."""
    data = json.loads((folder / STATE).read_text())
    try:
        return Progress(int(data["epochs_done"]), str(data["data_digest"]), list(data["history"]))
    except (KeyError, TypeError) as error:
        raise ValueError(f"{folder / STATE} is not a checkpoint state ({error})") from None


def restore(model: Any, folder: Path) -> Progress:
    """Load the checkpoint in `folder` into compiled `model` (the same architecture and
    optimizer it was written from): weights and optimizer state. Raises ValueError when the
    file does not fit the model (Keras' error) or holds no optimizer state."""
    model.optimizer.build(model.trainable_variables)  # slots must exist for load_weights to fill
    model.load_weights(folder / WEIGHTS)
    progress = read_progress(folder)
    if progress.epochs_done and int(model.optimizer.iterations) == 0:
        raise ValueError(f"{folder / WEIGHTS} holds no optimizer state for this model")
    return progress


class Checkpointer:
    """After every epoch: the checkpoint written to `folder`, and logged to run `run_id`'s
    artifacts under `checkpoints/` every `every` epochs (0: only by `flush`, when the run ends
    for any reason)."""

    def __init__(self, folder: Path, run_id: str, every: int):
        self.folder, self.run_id, self.every = folder, run_id, every
        self.saved = self.logged = 0  # epochs_done of the last checkpoint written / logged

    def __call__(self, model: Any, progress: Progress) -> None:
        """Write `model`'s checkpoint with `progress`; log it if its epoch is due."""
        with faults.deferred():
            save(model, progress, self.folder)
            self.saved = progress.epochs_done
            if self.every and self.saved % self.every == 0:
                self._log()

    def _log(self) -> None:
        from mlflow.tracking import MlflowClient

        MlflowClient().log_artifacts(self.run_id, str(self.folder), ARTIFACT_DIR)
        self.logged = self.saved

    def flush(self) -> None:
        """Log the last checkpoint written, if it is not logged yet. Best effort: called while
        a run ends on an error, a failure here is logged as a warning, not raised."""
        if self.saved == self.logged:
            return
        try:
            with faults.deferred():
                self._log()
        except Exception as error:
            log.warning("the checkpoint of epoch %d could not be logged: %s", self.saved, error)
