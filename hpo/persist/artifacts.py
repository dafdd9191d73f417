"""Trial and study artifacts in an `optuna.artifacts` file-system store, shown by the dashboard.

    store = artifact_store("sqlite:///studies/hpo.db")   # studies/hpo-artifacts/
    upload(store, "curve-trial-3.png", trial)              # hpo.search.callbacks.trial_artifacts

Every trial gets its learning-curve PNG; a trial that beats the study's best so far also puts its
weights (a Lightning checkpoint) and its validation confusion matrix on the study, named after the
trial, and records them in the study user attr `best_checkpoint`. Artifacts must be uploaded while
the trial runs (Optuna refuses attrs on finished trials), hence a callback and not a study hook.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.trial import TrialState

from hpo.persist.urls import file_path

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


def upload(store: FileSystemArtifactStore, path: Path, owner: optuna.Trial | optuna.Study) -> str:
    """Put a file in the store, attached to a running trial or to the study; its artifact id."""
    return upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=owner)


def improves(study: optuna.Study, value: float) -> bool:
    """Whether `value` beats every COMPLETE trial of the study so far (by the first objective
    of a multi-objective study)."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    values = [t.values[0] for t in done if t.values]
    if not values:
        return True
    if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE:
        return value > max(values)
    return value < min(values)
