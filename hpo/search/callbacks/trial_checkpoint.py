"""`TrialCheckpoint`: the running trial's `last.ckpt`, written every N seconds or epochs and
when the run is asked to stop, its path recorded on the trial so that a retry resumes from it
(hpo.persist.checkpoints)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import lightning.pytorch as pl
import optuna
from lightning.pytorch.callbacks import Checkpoint

from hpo.config.amounts import Amount
from hpo.persist.checkpoints import CHECKPOINT_ATTR
from hpo.train import signals
from hpo.train.callbacks.stop_on_signal import fit_ends_now, last_batch_of_epoch


class TrialCheckpoint(Checkpoint):
    """Saves at the end of a training epoch once `every` seconds or epochs have passed since
    the last save (never, for 0), and once SIGTERM/SIGINT arrived: after the current step, or
    at the epoch's end when that step was the epoch's last (StopOnSignal then stops the fit
    before the next step). A Lightning `Checkpoint`, so Lightning calls it after the other
    callbacks and, at an epoch's end, after the module's own `on_train_epoch_end` (which steps
    the LR schedule): a checkpoint holds the epoch's end complete, and a fit resumed from it
    starts the next epoch exactly as an uninterrupted one. A pruned epoch is never saved: the
    pruner stops the fit in validation, before the epoch ends. Written to a temporary file and
    renamed, so a kill mid-write leaves the previous checkpoint whole."""

    def __init__(self, trial: optuna.Trial, dirpath: Path, every: Amount) -> None:
        self.trial, self.path, self.every = trial, Path(dirpath) / "last.ckpt", every
        self._since = time.monotonic()
        self._epochs = 0
        self._saved_on_signal = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._since, self._epochs = time.monotonic(), 0

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epochs += 1
        if self._stop_requested() and not fit_ends_now(trainer):
            self._saved_on_signal = True
            self._save(trainer)
        elif self.every.amount and self._due():
            self._save(trainer)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: object) -> None:
        if self._stop_requested() and not last_batch_of_epoch(trainer):
            self._saved_on_signal = True
            self._save(trainer)

    def _stop_requested(self) -> bool:
        return signals.requested() is not None and not self._saved_on_signal

    def _due(self) -> bool:
        if self.every.unit == "epochs":
            return self._epochs >= self.every.amount
        return time.monotonic() - self._since >= self.every.amount

    def _save(self, trainer: pl.Trainer) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.partial")
        trainer.save_checkpoint(partial, weights_only=False)
        os.replace(partial, self.path)
        self.trial.set_user_attr(CHECKPOINT_ATTR, str(self.path))
        self._since, self._epochs = time.monotonic(), 0
