"""Per-trial Lightning checkpoints: where they go, resuming a retried trial, clean-up.

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

import optuna
from optuna.trial import FrozenTrial

from hpo.config.run import RunConfig
from hpo.persist.internals import base_storage, study_id, trial_id
from hpo.persist.urls import default_checkpoint_root

CHECKPOINT_ATTR = "checkpoint"


def checkpoint_root(config: RunConfig) -> Path:
    """--checkpoint-dir, else beside the SQLite/journal file (studies/ by default)."""
    if config.checkpoint_dir:
        return Path(config.checkpoint_dir)
    return default_checkpoint_root(config.storage)


def trial_dir(root: Path, study_name: str, number: int) -> Path:
    return Path(root).resolve() / re.sub(r"[^\w.-]", "_", study_name) / f"trial_{number}"


def frozen_trial(trial: optuna.Trial) -> FrozenTrial:
    """The stored view of a running trial (system attrs included)."""
    return base_storage(trial.study).get_trial(trial_id(trial))


@dataclass
class Resume:
    path: Path
    epochs: list[int]  # epochs the checkpoint holds
    reported: dict[int, float]  # the predecessor's intermediate values for those epochs

    def report_to(self, trial: optuna.Trial) -> None:
        """Re-report the predecessor's values for the epochs not trained again."""
        for step, value in sorted(self.reported.items()):
            trial.report(value, step)


def resume_point(trial: optuna.Trial, curve_key: str = "EpochCurve") -> Resume | None:
    """The checkpoint a retried trial continues from, or None (a fresh trial, or the
    checkpoint is missing/corrupt: then a warning, and training starts from scratch).
    `curve_key`: the checkpoint's callback state holding the epoch rows (EpochCurve's)."""
    frozen = frozen_trial(trial)
    history = frozen.system_attrs.get("retry_history") or []
    path = frozen.user_attrs.get(CHECKPOINT_ATTR)
    if not history or not path:
        return None
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        rows = state["callbacks"][curve_key]["rows"]
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
        found = storage.get_trial_id_from_study_id_trial_number(study_id(study), number)
        return storage.get_trial(found)
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
