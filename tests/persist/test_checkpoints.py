"""The checkpoint janitor deletes only checkpoint files inside the study's own folder, whatever
the study is called and whatever its trials' attrs say (real SQLite storage, real files)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from hpo.persist.checkpoints import CHECKPOINT_ATTR, CheckpointJanitor, study_dir, trial_dir


def finished_study(url: str, name: str, checkpoints: list[str | None]) -> optuna.Study:
    """A study with one COMPLETE trial per entry, its `checkpoint` attr set to the entry."""
    study = optuna.create_study(storage=url, study_name=name)
    for i, path in enumerate(checkpoints):
        trial = study.ask()
        trial.set_user_attr(CHECKPOINT_ATTR, path)
        study.tell(trial, float(i))
    return study


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    return path


@pytest.mark.parametrize("name", ["..", "../outside", "a/../../b", "/abs", ".", "cmp/tpe/seed0"])
def test_the_janitor_never_leaves_the_study_folder(tmp_path: Path, sqlite_url: str, name: str):
    root = tmp_path / "root" / "ckpt"
    outside = [
        touch(tmp_path / "victim.ckpt"),
        touch(tmp_path / "root" / "victim.ckpt"),
        touch(tmp_path / "root" / "trial_0" / "last.ckpt"),
        touch(tmp_path / "elsewhere" / "trial_1" / "last.ckpt"),
    ]
    folder = study_dir(root, name)
    assert folder.parent == root.resolve()
    inside = touch(trial_dir(root, name, 0) / "last.ckpt")
    # A trial folder that links out of the study's folder, and a checkpoint that links out.
    (folder / "trial_1").symlink_to(tmp_path / "elsewhere" / "trial_1")
    touch(trial_dir(root, name, 2) / "other.txt")
    (trial_dir(root, name, 2) / "last.ckpt").symlink_to(tmp_path / "victim.ckpt")
    # Attrs pointing anywhere: no trial keeps its checkpoint (all attrs name other files).
    study = finished_study(sqlite_url, name, [str(outside[0]), None, str(outside[1])])
    CheckpointJanitor(root, "best")(study)
    assert all(path.exists() for path in outside)
    assert not inside.exists() and not inside.parent.exists()
    assert (trial_dir(root, name, 2) / "other.txt").exists()  # --loggers files stay


def test_checkpoints_a_finished_trial_names_are_kept(tmp_path: Path, sqlite_url: str):
    root = tmp_path / "ckpt"
    kept = touch(trial_dir(root, "s", 0) / "last.ckpt")
    dropped = touch(trial_dir(root, "s", 1) / "last.ckpt")
    study = finished_study(sqlite_url, "s", [str(kept), None])
    CheckpointJanitor(root, "best")(study)
    assert kept.exists() and not dropped.exists()
    CheckpointJanitor(root, "all")(study)
    assert kept.exists()
