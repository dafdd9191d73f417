"""`PrunedValue`: a pruned trial's value in its metric's unit.

Optuna stores a pruned trial's last reported value as its value (optuna/study/_tell.py). For
time-to-target metrics pruning watches val_loss, so a pruned trial would score a loss (2085.5)
beside other trials' seconds. When the metric says what a stopped trial scores (`Metric.pruned`:
the cap, or the time at which it reached the target), this callback reports that value one step
after the last epoch, so it is the trial's last report and Optuna stores it; the trial attr
`value_is` says why. A trial pruned by the pruner or stopped for diverging is handled alike.
"""

from __future__ import annotations

import lightning.pytorch as pl
import optuna

from hpo.config.metrics import Metric
from hpo.train.callbacks.epoch_curve import EpochCurve
from hpo.train.divergence import divergence, divergence_threshold


class PrunedValue(pl.Callback):
    def __init__(self, trial: optuna.Trial, curve: EpochCurve, metric: Metric) -> None:
        self.trial, self.curve, self.metric = trial, curve, metric

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, optuna.TrialPruned):
            self._report()

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        threshold = divergence_threshold(trainer.datamodule.num_classes)
        if divergence(self.curve.rows, threshold) is not None:  # the objective prunes it next
            self._report()

    def _report(self) -> None:
        rows = self.curve.rows
        scored = self.metric.pruned(rows)
        if scored is None or not rows:
            return
        value, why = scored
        self.trial.report(value, step=int(rows[-1]["epoch"]) + 1)
        self.trial.set_user_attr("value_is", why)
        for key, attr in self.metric.attrs(rows).items():
            self.trial.set_user_attr(key, attr)
