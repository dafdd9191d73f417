"""Helpers the tests share: run a CLI as a real subprocess, write tiny spaces, read studies."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

ROOT = Path(__file__).resolve().parents[2]

#: A space that trains in well under a second per trial on digits.
TINY_SPACE = {
    "params": {
        "lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True, "grid": [1e-2, 5e-2]},
        "optimizer": {"type": "categorical", "choices": ["adam", "momentum"]},
    },
    "fixed": {"batch_size": 64, "width": 2},
}


def write_space(directory: Path, space: dict | None = None, name: str = "space.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(space or TINY_SPACE))
    return path


def cli_env() -> dict[str, str]:
    """The environment for a CLI subprocess: this checkout's `hpo` first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_cli(
    module: str, *args: str, cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m <module> <args>` in a subprocess, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_for_epochs(
    storage: str | optuna.storages.BaseStorage,
    proc: subprocess.Popen[str],
    epochs: int,
    name: str = "interrupted",
    timeout: float = 300,
) -> optuna.trial.FrozenTrial:
    """Block until a RUNNING trial has checkpointed `epochs` epochs; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            running = optuna.load_study(study_name=name, storage=storage).get_trials(
                states=(TrialState.RUNNING,)
            )
        except KeyError:  # study not created yet
            running = []
        for trial in running:
            path = trial.user_attrs.get("checkpoint")
            if len(trial.intermediate_values) >= epochs and path and Path(path).exists():
                return trial
        time.sleep(0.2)
    raise AssertionError(f"no trial reached {epochs} epochs in {timeout} s")


#: A proxy nobody listens on: urllib (torchvision's dataset downloads, torch.hub's weights)
#: sends every http(s) request through it, and the connection is refused at once.
DEAD_PROXY = "http://127.0.0.1:9"


@contextlib.contextmanager
def downloads_fail() -> Iterator[None]:
    """Every http(s) download fails while the block runs, as it does offline, whether or not
    this machine has internet: in this process and in the subprocesses it starts (through
    the standard proxy variables, which they inherit). Local servers stay reachable."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            patch.setenv(name, DEAD_PROXY)
        for name in ("no_proxy", "NO_PROXY"):
            patch.setenv(name, "localhost,127.0.0.1,::1")
        # urlopen keeps the opener it built first, with the proxies of that moment: drop it so
        # the next one reads the variables above (and again after the block).
        urllib.request.install_opener(None)
        try:
            yield
        finally:
            urllib.request.install_opener(None)
