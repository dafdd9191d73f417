"""`StopAtTarget`: end a fit once its metric can no longer change (a time-to-target metric
whose target was reached or whose cap was spent), as seed 003 trains "until 97 %"."""

from __future__ import annotations

import lightning.pytorch as pl

from hpo.config.metrics import Metric
from hpo.train.callbacks.epoch_curve import EpochCurve


class StopAtTarget(pl.Callback):
    """Sets `trainer.should_stop` after a training epoch when `metric.done(curve)`.

    Lightning's EarlyStopping has `stopping_threshold`, but it cannot watch a cap in seconds
    or the epoch the target was first reached, so this small check is ours."""

    def __init__(self, metric: Metric, curve: EpochCurve) -> None:
        self.metric = metric
        self.curve = curve

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.metric.done(self.curve.rows):
            trainer.should_stop = True
