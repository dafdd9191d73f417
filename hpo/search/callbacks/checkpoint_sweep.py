"""`CheckpointSweep`: when a trial's fit ends, keep its checkpoint, or delete it and clear the
trial's `checkpoint` attr while the trial still runs (Optuna refuses attrs on finished trials,
and a finished trial's attr must never name a deleted file).

--keep-checkpoints best keeps it when the trial completes as the best so far, all always, none
never. A fit stopped by a signal keeps it: the re-queued trial resumes from it.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import lightning.pytorch as pl
import optuna
from lightning.pytorch.utilities.exceptions import SIGTERMException

from hpo.config.metrics import Metric
from hpo.persist.artifacts import improves
from hpo.persist.checkpoints import CHECKPOINT_ATTR, remove_checkpoints
from hpo.train import signals
from hpo.train.callbacks.epoch_curve import EpochCurve
from hpo.train.divergence import divergence, divergence_threshold

#: Stops after which the trial is re-queued and resumes from its checkpoint.
RESUMED_AFTER = (signals.Interrupted, SIGTERMException, KeyboardInterrupt)


class CheckpointSweep(pl.Callback):
    def __init__(
        self, trial: optuna.Trial, curve: EpochCurve, metric: Metric, directory: Path, keep: str
    ) -> None:
        self.trial, self.curve, self.metric = trial, curve, metric
        self.directory, self.keep = Path(directory), keep

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._written() and not self._kept(trainer):  # (`_kept` reads the study's trials)
            self._drop()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if self.keep != "all" and not isinstance(exception, RESUMED_AFTER):
            self._drop()  # pruned or failed: nothing will resume from it

    def _kept(self, trainer: pl.Trainer) -> bool:
        if self.keep != "best":
            return self.keep == "all"
        rows = self.curve.rows
        value = self.metric.value(rows)
        threshold = divergence_threshold(trainer.datamodule.num_classes)
        healthy = divergence(rows, threshold) is None and math.isfinite(value)
        return healthy and improves(self.trial.study, value)

    def _written(self) -> bool:
        """None is written by a short trial (--checkpoint-every) nor inherited."""
        return bool(self.trial.user_attrs.get(CHECKPOINT_ATTR))

    def _drop(self) -> None:
        if not self._written():
            return
        remove_checkpoints(self.directory, self.directory.parent)
        # Another worker may have declared this trial dead and finished it meanwhile.
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            self.trial.set_user_attr(CHECKPOINT_ATTR, None)
