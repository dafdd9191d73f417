"""pytest fixtures the tests share (a plugin: `pytest_plugins = ["hpo.testing.fixtures"]` in
tests/conftest.py): tiny spaces, storage URLs for SQLite and the real PostgreSQL and Redis, one
torch thread, and `small_study`, a real study run once per session through the real CLI (for the
dashboard, artifact and export tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest

from hpo.testing.helpers import TINY_SPACE, downloads_fail, run_cli, write_space
from hpo.testing.services import fresh_postgres_database, redis_with_prefix

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


@pytest.fixture
def no_downloads() -> Iterator[None]:
    """Downloads fail as offline, online too (hpo.testing.helpers.downloads_fail): for tests
    of a missing dataset or weights file."""
    with downloads_fail():
        yield


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    """A tiny two-parameter space (lr × optimizer) in a temp dir."""
    return write_space(tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """redis:// URL with a key prefix of its own; its keys are deleted afterwards."""
    with redis_with_prefix() as url:
        yield url


@pytest.fixture
def one_torch_thread():
    """Tiny 8×8 fits run fastest on one thread; on a loaded 2-core machine two threads
    per fit oversubscribe the cores (measured 4× slower). Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def slow_space(tmp_path: Path) -> Path:
    """The tiny space with batches of 4: an epoch lasts long enough (~0.5 s) for a signal sent
    after the test saw 2 epochs checkpointed to land mid-trial, even on an idle machine."""
    return write_space(tmp_path, {**TINY_SPACE, "fixed": {"batch_size": 4, "width": 2}})
