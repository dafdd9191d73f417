"""Per-trial Lightning checkpoints: save every epoch, resume a retried trial, clean up.

studies/<study>/trial_<n>/last.ckpt    (path recorded in the trial's user attr `checkpoint`)

A trial re-queued after its worker died or was interrupted is a copy carrying the predecessor's
user attrs, so its `checkpoint` attr points at the predecessor's last checkpoint until the retry
saves its own; `resume_point` reads it (weights only), and the retry continues training from the
epoch after it. Finished trials' checkpoints are removed, except the best trial's
(configurable); other files in the directory (--loggers writes its logs there) are kept.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import optuna
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from optuna.trial import FrozenTrial

from hpo.curve import EpochCurve
from hpo.locks import base_storage

CHECKPOINT_ATTR = "checkpoint"
KEEP_CHOICES = ("best", "all", "none")


def trial_dir(root: Path, study_name: str, number: int) -> Path:
    return Path(root).resolve() / re.sub(r"[^\w.-]", "_", study_name) / f"trial_{number}"


class TrialCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint writing `last.ckpt` at the end of every training epoch
    (after validation and the pruner, so a pruned epoch is never saved), then recording its
    path on the trial."""

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


def frozen_trial(trial: optuna.Trial) -> FrozenTrial:
    """The stored view of a running trial (system attrs included)."""
    return base_storage(trial.study).get_trial(trial._trial_id)


@dataclass
class Resume:
    path: Path
    epochs: list[int]  # epochs the checkpoint holds
    reported: dict[int, float]  # the predecessor's intermediate values for those epochs

    def report_to(self, trial: optuna.Trial) -> None:
        """Re-report the predecessor's values for the epochs not trained again."""
        for step, value in sorted(self.reported.items()):
            trial.report(value, step)


def resume_point(trial: optuna.Trial) -> Resume | None:
    """The checkpoint a retried trial continues from, or None (a fresh trial, or the
    checkpoint is missing/corrupt: then a warning, and training starts from scratch)."""
    frozen = frozen_trial(trial)
    history = frozen.system_attrs.get("retry_history") or []
    path = frozen.user_attrs.get(CHECKPOINT_ATTR)
    if not history or not path:
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        rows = state["callbacks"][EpochCurve().state_key]["rows"]
    except Exception as exc:  # missing, truncated by a kill, or not ours
        warnings.warn(
            f"trial {trial.number}: cannot resume from checkpoint {path} "
            f"({type(exc).__name__}: {exc}); training from scratch",
            stacklevel=2,
        )
        return None
    epochs = [int(row["epoch"]) for row in rows if any(k.startswith("val_") for k in row)]
    predecessor = _trial_by_number(trial.study, history[-1])
    values = predecessor.intermediate_values if predecessor is not None else {}
    return Resume(Path(path), epochs, {e: values[e] for e in epochs if e in values})


def _trial_by_number(study: optuna.Study, number: int) -> FrozenTrial | None:
    storage = base_storage(study)
    try:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
        return storage.get_trial(trial_id)
    except KeyError:
        return None


class CheckpointJanitor:
    """Optuna callback: after each trial, delete the checkpoint directories of finished trials,
    keeping those a queued or running retry needs and (keep="best") the best trial's."""

    def __init__(self, root: Path, keep: str = "best") -> None:
        self.root, self.keep = Path(root), keep

    def __call__(self, study: optuna.Study, _trial: FrozenTrial | None = None) -> None:
        if self.keep == "all":
            return
        study_dir = trial_dir(self.root, study.study_name, 0).parent
        if not study_dir.is_dir():
            return
        trials = {t.number: t for t in study.get_trials(deepcopy=False)}
        needed = {_ckpt_dir(t) for t in trials.values() if not t.state.is_finished()}
        if self.keep == "best":
            needed.add(_ckpt_dir(_best(study)))
        for directory in study_dir.glob("trial_*"):
            trial = trials.get(_number(directory.name))
            if trial is None or not trial.state.is_finished() or directory.resolve() in needed:
                continue
            remove_checkpoints(directory)


def remove_checkpoints(directory: Path) -> None:
    """Delete the checkpoint files, and the directory if nothing else (e.g. the per-trial
    logs of --loggers, which share it) is left in it."""
    for path in directory.glob("*.ckpt"):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()


def _ckpt_dir(trial: FrozenTrial | None) -> Any:
    path = trial.user_attrs.get(CHECKPOINT_ATTR) if trial is not None else None
    return Path(path).resolve().parent if path else None


def _number(name: str) -> int:
    suffix = name.removeprefix("trial_")
    return int(suffix) if suffix.isdigit() else -1


def _best(study: optuna.Study) -> FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:
        return None
