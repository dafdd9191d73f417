"""Per-trial Lightning checkpoints: where they go, resuming a retried trial, clean-up.

studies/<folder>/trial_<n>/last.ckpt   (path recorded in the trial's user attr `checkpoint`)

`<folder>` is the study's folder (hpo.config.names.study_folder): one path component, so no
study name leads outside the checkpoint root, and clean-up deletes only `*.ckpt` files inside it.

A trial re-queued after its worker died or was interrupted is a copy carrying the predecessor's
user attrs, so its `checkpoint` attr points at the predecessor's last checkpoint until the retry
saves its own; `resume_point` reads it (weights only), and the retry continues training from the
epoch after it. A trial that ends decides, while it still runs, whether its checkpoint is kept
(--keep-checkpoints; hpo.search.callbacks.checkpoint_sweep): if not, the file goes and its
`checkpoint` attr is cleared, so a finished trial's attr never names a deleted file. The janitor
then removes what no finished trial keeps and no queued or running retry needs. Other files in
the directory (--loggers writes its logs there) are kept.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.config.names import study_folder
from hpo.config.run import RunConfig
from hpo.persist.internals import base_storage, read_at_start, study_id
from hpo.persist.urls import default_checkpoint_root

CHECKPOINT_ATTR = "checkpoint"


def checkpoint_root(config: RunConfig) -> Path:
    """--checkpoint-dir, else beside the SQLite/journal file (studies/ by default)."""
    if config.checkpoint_dir:
        return Path(config.checkpoint_dir)
    return default_checkpoint_root(config.storage)


def study_dir(root: Path, study_name: str) -> Path:
    """The study's folder under the checkpoint root, whatever its name."""
    return Path(root).resolve() / study_folder(study_name)


def trial_dir(root: Path, study_name: str, number: int) -> Path:
    return study_dir(root, study_name) / f"trial_{number}"


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
    frozen = read_at_start(trial)  # its retry history and checkpoint are set before it runs
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
    """Optuna callback: delete the checkpoints of finished trials in the study's folder, except
    those a queued or running retry needs and those a finished trial kept (its `checkpoint`
    attr names them: the trial was the best when it ended, or --keep-checkpoints all). A failed
    trial that was re-queued hands its checkpoint on to its retry and keeps no claim on it."""

    def __init__(self, root: Path, keep: str = "best") -> None:
        self.root, self.keep = Path(root), keep

    def __call__(self, study: optuna.Study, _trial: FrozenTrial | None = None) -> None:
        if self.keep == "all":
            return
        folder = study_dir(self.root, study.study_name)
        if not folder.is_dir() or folder.is_symlink():
            return
        trials = {t.number: t for t in study.get_trials(deepcopy=False)}
        needed = {_ckpt_dir(t) for t in trials.values() if t.state != TrialState.FAIL}
        for directory in folder.glob("trial_*"):
            trial = trials.get(_number(directory.name))
            if trial is None or not trial.state.is_finished() or directory.resolve() in needed:
                continue
            remove_checkpoints(directory, folder)


def remove_checkpoints(directory: Path, folder: Path) -> None:
    """Delete the checkpoint files of one trial directory (a real directory directly inside the
    study's `folder`, never a link out of it), and the directory if nothing else (e.g. the
    per-trial logs of --loggers, which share it) is left in it."""
    if directory.is_symlink() or directory.resolve().parent != folder.resolve():
        return
    for path in directory.glob("*.ckpt"):
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()


def _ckpt_dir(trial: FrozenTrial) -> Any:
    path = trial.user_attrs.get(CHECKPOINT_ATTR)
    return Path(path).resolve().parent if path else None


def _number(name: str) -> int:
    suffix = name.removeprefix("trial_")
    return int(suffix) if suffix.isdigit() else -1
