"""`TrialArtifacts`: the dashboard's files for a trial, uploaded while it runs (Optuna refuses
artifacts on finished trials, hence a Lightning callback and not a study hook)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import lightning.pytorch as pl
import optuna
from optuna.artifacts import FileSystemArtifactStore

from hpo.config.metrics import Metric
from hpo.persist.artifacts import BEST_ATTR, improves, upload
from hpo.persist.figures import confusion_png, curve_png
from hpo.search.summary import format_params
from hpo.train.callbacks.epoch_curve import EpochCurve
from hpo.train.divergence import divergence, divergence_threshold
from hpo.train.evaluate import confusion_matrix


class TrialArtifacts(pl.Callback):
    """Uploads the trial's curve PNG when its fit ends (completed, pruned or failed), and the
    checkpoint + confusion matrix when it is the best trial so far."""

    def __init__(
        self,
        trial: optuna.Trial,
        curve: EpochCurve,
        metric: Metric,
        store: FileSystemArtifactStore,
    ) -> None:
        self.trial, self.curve, self.metric, self.store = trial, curve, metric, store

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._upload_curve()
        value = self.metric.value(self.curve.rows)
        threshold = divergence_threshold(trainer.datamodule.num_classes)
        healthy = divergence(self.curve.rows, threshold) is None and math.isfinite(value)
        if healthy and improves(self.trial.study, value):
            self._upload_best(trainer, pl_module, value)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if self.curve.rows:
            self._upload_curve()

    def _upload_curve(self) -> None:
        number = self.trial.number
        title = f"trial {number}: {format_params(self.trial.params)}"
        with tempfile.TemporaryDirectory() as tmp:
            png = curve_png(self.curve.rows, Path(tmp, f"curve-trial-{number}.png"), title)
            upload(self.store, png, self.trial)

    def _upload_best(self, trainer: pl.Trainer, module: pl.LightningModule, value: float) -> None:
        study, number = self.trial.study, self.trial.number
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Path(tmp, f"best-trial-{number}.ckpt")
            trainer.save_checkpoint(ckpt, weights_only=True)
            data = trainer.datamodule
            matrix = confusion_matrix(module, data.val_dataloader())
            title = f"trial {number}, validation split ({self.metric.name} {value:.4f})"
            path = Path(tmp, f"confusion-trial-{number}.png")
            png = confusion_png(matrix, path, title, getattr(data, "class_names", None))
            ids = {
                "checkpoint": upload(self.store, ckpt, study),
                "confusion_matrix": upload(self.store, png, study),
            }
        study.set_user_attr(
            BEST_ATTR,
            {"trial": number, "value": value, "params": self.trial.params, **ids},
        )
