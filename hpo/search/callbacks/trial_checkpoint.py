"""`TrialCheckpoint`: Lightning's ModelCheckpoint writing the trial's `last.ckpt`, its path
recorded on the trial so that a retry can resume from it (hpo.persist.checkpoints)."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import optuna
from lightning.pytorch.callbacks import ModelCheckpoint

from hpo.persist.checkpoints import CHECKPOINT_ATTR


class TrialCheckpoint(ModelCheckpoint):
    """Writes `last.ckpt` at the end of every training epoch (after validation and the pruner,
    so a pruned epoch is never saved), then records its path on the trial."""

    def __init__(self, trial: optuna.Trial, dirpath: Path) -> None:
        super().__init__(
            dirpath=dirpath,
            filename="last",  # one file, overwritten each epoch (no metric to rank by)
            monitor=None,
            save_top_k=1,
            every_n_epochs=1,
            save_on_train_epoch_end=True,
            enable_version_counter=False,
        )
        self.trial = trial

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self.best_model_path and self._last_global_step_saved == trainer.global_step:
            self.trial.set_user_attr(CHECKPOINT_ATTR, str(self.best_model_path))
