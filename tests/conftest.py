from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import write_space  # noqa: E402

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


@pytest.fixture
def one_torch_thread():
    """Tiny 8×8 fits run fastest on one thread; on a loaded 2-core machine two threads
    per fit oversubscribe the cores (measured 4× slower). Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
