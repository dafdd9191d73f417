"""Trial and study artifacts in an `optuna.artifacts` file-system store, shown by the dashboard.

    store = artifact_store("sqlite:///studies/hpo.db")   # studies/hpo-artifacts/
    TrialArtifacts(trial, curve, metric, store)           # a Lightning callback in run_trial

Every trial gets its learning-curve PNG; a trial that beats the study's best so far also puts its
weights (a Lightning checkpoint) and its validation confusion matrix on the study, named after the
trial, and records them in the study user attr `best_checkpoint`. Artifacts must be uploaded while
the trial runs (Optuna refuses attrs on finished trials), hence a callback and not a study hook.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import optuna
import torch
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.trial import TrialState

from hpo.curve import EpochCurve
from hpo.metrics import Metric
from hpo.storage import file_path

#: Where artifacts of server-backed studies (PostgreSQL, Redis, …) go, relative to the cwd.
SERVER_ARTIFACT_DIR = Path("studies/artifacts")
BEST_ATTR = "best_checkpoint"


def default_artifact_dir(storage_url: str) -> Path:
    """Beside a storage file (`studies/hpo.db` → `studies/hpo-artifacts/`), else
    `studies/artifacts/`."""
    path = file_path(storage_url)
    if path is None:
        return SERVER_ARTIFACT_DIR
    return path.with_name(f"{path.stem}-artifacts")


def artifact_store(
    storage_url: str, directory: str | Path | None = None
) -> FileSystemArtifactStore:
    target = Path(directory) if directory is not None else default_artifact_dir(storage_url)
    target.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(target))


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
        from hpo.objective import divergence, divergence_threshold  # (objective imports us)

        self._upload_curve()
        value = self.metric.value(self.curve.rows)
        threshold = divergence_threshold(trainer.datamodule.num_classes)
        healthy = divergence(self.curve.rows, threshold) is None and math.isfinite(value)
        if healthy and _improves(self.trial.study, value):
            self._upload_best(trainer, pl_module, value)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if self.curve.rows:
            self._upload_curve()

    def _upload_curve(self) -> None:
        from hpo.trial_plots import curve_png

        number = self.trial.number
        with tempfile.TemporaryDirectory() as tmp:
            png = curve_png(
                self.curve.rows, Path(tmp, f"curve-trial-{number}.png"), f"trial {number}"
            )
            self._upload(png, self.trial)

    def _upload(self, path: Path, owner: optuna.Trial | optuna.Study) -> str:
        return upload_artifact(
            artifact_store=self.store, file_path=str(path), study_or_trial=owner
        )

    def _upload_best(self, trainer: pl.Trainer, module: pl.LightningModule, value: float) -> None:
        from hpo.trial_plots import confusion_png

        study, number = self.trial.study, self.trial.number
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Path(tmp, f"best-trial-{number}.ckpt")
            trainer.save_checkpoint(ckpt, weights_only=True)
            matrix = confusion_matrix(module, trainer.datamodule.val_dataloader())
            title = f"trial {number}, validation split ({self.metric.name} {value:.4f})"
            png = confusion_png(matrix, Path(tmp, f"confusion-trial-{number}.png"), title)
            ids = {
                "checkpoint": self._upload(ckpt, study),
                "confusion_matrix": self._upload(png, study),
            }
        study.set_user_attr(
            BEST_ATTR,
            {"trial": number, "value": value, "params": self.trial.params, **ids},
        )


def _improves(study: optuna.Study, value: float) -> bool:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        return True
    values = [t.value for t in done if t.value is not None]
    if study.direction == optuna.study.StudyDirection.MAXIMIZE:
        return value > max(values)
    return value < min(values)


@torch.no_grad()
def confusion_matrix(module: pl.LightningModule, batches: Any) -> Any:
    """Counts of (true, predicted) class over `batches`, as a numpy array."""
    from torchmetrics.classification import MulticlassConfusionMatrix

    was_training = module.training
    module.eval()
    num_classes = module.num_classes
    counts = MulticlassConfusionMatrix(num_classes=num_classes)
    for x, y in batches:
        counts.update(module(x.to(module.device)).argmax(dim=1).cpu(), y)
    module.train(was_training)
    return counts.compute().numpy()
