"""`DivergenceStop`: ends a fit whose training or validation loss diverged (the rule is
hpo.train.divergence), after the epoch that showed it."""

from __future__ import annotations

import lightning.pytorch as pl

from hpo.train.divergence import diverged_loss, divergence_threshold


class DivergenceStop(pl.Callback):
    """Sets `trainer.should_stop` once an epoch's train or val loss is non-finite or above the
    threshold. (Lightning's EarlyStopping does the same with `check_finite` and
    `divergence_threshold`, but one per monitored value and at a cost on every hook call.)"""

    def __init__(self, num_classes: int) -> None:
        self.threshold = divergence_threshold(num_classes)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check(trainer, "train_loss")

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._check(trainer, "val_loss")

    def _check(self, trainer: pl.Trainer, key: str) -> None:
        value = trainer.callback_metrics.get(key)
        if value is not None and diverged_loss({key: float(value)}, self.threshold):
            trainer.should_stop = True
