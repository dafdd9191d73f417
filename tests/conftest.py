from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import TINY_SPACE, write_space  # noqa: E402

#: Session fixtures shared across test modules (a fixture imported into several modules would
#: be built once per module).
pytest_plugins = ["study_fixtures"]


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
    from services import fresh_postgres_database

    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """redis:// URL with a key prefix of its own; its keys are deleted afterwards."""
    from services import redis_with_prefix

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
