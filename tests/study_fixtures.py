"""A small real study (run once per test session through the real CLI), shared by the dashboard,
artifact and export tests through the `small_study` fixture (a plugin of tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from helpers import run_cli, write_space

N_TRIALS = 3
STUDY_NAME = "ui-study"


@dataclass(frozen=True)
class SmallStudy:
    directory: Path
    db: Path
    url: str
    name: str
    n_trials: int
    stdout: str

    def load(self) -> optuna.Study:
        return optuna.load_study(study_name=self.name, storage=self.url)


@pytest.fixture(scope="session")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> SmallStudy:
    directory = tmp_path_factory.mktemp("small_study")
    space = write_space(directory)
    db = directory / "study.db"
    url = f"sqlite:///{db}"
    result = run_cli(
        "hpo.study",
        *("--n-trials", str(N_TRIALS), "--max-epochs", "2", "--pruner", "none"),
        *("--space", str(space), "--storage", url, "--study-name", STUDY_NAME),
        cwd=directory,
    )
    assert result.returncode == 0, result.stderr
    return SmallStudy(directory, db, url, STUDY_NAME, N_TRIALS, result.stdout)
