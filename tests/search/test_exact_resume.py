"""Interrupt a real study process (SIGTERM, SIGINT, kill -9) at an exact point, rerun the same
command: the resumed trial's curve and value equal the uninterrupted run's (CPU, to 1e-6).

The trial uses dropout, augmentation (noise, rotation), shuffling and a cosine schedule, so every
random stream and the schedule must continue across the interruption. The signal is sent by the
process to itself at the point named (hpo.testing.interrupt); SIGTERM and SIGINT stop after that
training step (of several mini-batches) with a checkpoint taken there (mid-epoch; at an epoch's
last step, at the epoch's end), kill -9 leaves the last epoch checkpoint. Both kinds of
checkpoint are resumed from.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import FrozenTrial, TrialState

from hpo.testing.helpers import cli_env, run_cli, write_space

STUDY = "exact"
EPOCHS = 4
SPACE = {
    "params": {"optimizer": {"type": "categorical", "choices": ["adam"]}},
    "fixed": {
        "lr": 0.003,
        "batch_size": 32,  # 34 mini-batches per epoch on digits
        "batches_per_step": 16,  # in steps of 16, 16 and 2 (by default one step an epoch)
        "width": 2,
        "dropout": 0.3,
        "noise": 0.2,
        "rotation": 10.0,
        "lr_schedule": "cosine",
    },
}
PER_STEP = SPACE["fixed"]["batches_per_step"]
#: point name → --at EPOCH:STEP (epochs from 0; `end`: after the epoch's checkpoint)
POINTS = {
    "after-epoch-1": "0:end",
    "mid-epoch-2": "1:1",
    "last-step-of-epoch-3": "2:-1",
}
SIGNALS = {"SIGTERM": "TERM", "SIGINT": "INT", "kill-9": "KILL"}
TOLERANCE = 1e-6


def study_args(directory: Path) -> list[str]:
    space = write_space(directory, SPACE)
    url = f"sqlite:///{directory / 'study.db'}"
    return [
        "--n-trials", "1", "--max-epochs", str(EPOCHS), "--space", str(space), "--storage", url,
        "--study-name", STUDY, "--pruner", "none", "--checkpoint-every", "1ep", "--quiet",
        "--no-artifacts",
    ]  # fmt: skip


def completed_trial(directory: Path) -> FrozenTrial:
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{directory / 'study.db'}")
    (trial,) = study.get_trials(states=(TrialState.COMPLETE,))
    return trial


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> FrozenTrial:
    directory = tmp_path_factory.mktemp("uninterrupted")
    result = run_cli("hpo.study", *study_args(directory), cwd=directory)
    assert result.returncode == 0, result.stderr
    return completed_trial(directory)


def differences(resumed: FrozenTrial, reference: FrozenTrial) -> dict[str, float]:
    """|resumed - reference| of the value, every intermediate value and every curve entry but
    the wall-clock `elapsed_s`; the largest per kind."""
    assert sorted(resumed.intermediate_values) == sorted(reference.intermediate_values)
    curves = list(zip(resumed.user_attrs["curve"], reference.user_attrs["curve"], strict=True))
    for got, want in curves:
        assert got.keys() == want.keys()
    return {
        "value": abs(resumed.value - reference.value),
        "intermediate": max(
            abs(v - reference.intermediate_values[step])
            for step, v in resumed.intermediate_values.items()
        ),
        "curve": max(
            abs(got[key] - want[key]) for got, want in curves for key in want if key != "elapsed_s"
        ),
    }


def interrupt(directory: Path, kind: str, at: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hpo.testing.interrupt", "--signal", SIGNALS[kind], "--at", at,
         "--", *study_args(directory)],
        cwd=directory, env=cli_env(), capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def checkpoint_position(directory: Path) -> tuple[int, int]:
    """(epoch, batches served in it) of the interrupted trial's checkpoint."""
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{directory / 'study.db'}")
    path = study.trials[0].user_attrs["checkpoint"]
    state = torch.load(path, map_location="cpu", weights_only=True)
    (loader,) = state["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    return loader["epoch"], loader["served"]


#: One point per kind by default (each case is two processes that import torch); the other six
#: are `slow`, run by CI (about 3 min each on a loaded 2-core machine).
DEFAULT = {
    ("SIGTERM", "after-epoch-1"),
    ("SIGINT", "mid-epoch-2"),
    ("kill-9", "last-step-of-epoch-3"),
}
CASES = [
    pytest.param(kind, point, marks=() if (kind, point) in DEFAULT else pytest.mark.slow)
    for kind in SIGNALS
    for point in POINTS
]


@pytest.mark.parametrize("kind,point", CASES)
def test_resumed_trial_equals_the_uninterrupted_one(
    tmp_path: Path, uninterrupted: FrozenTrial, kind: str, point: str
) -> None:
    stopped = interrupt(tmp_path, kind, POINTS[point])
    signum = signal.Signals[f"SIG{SIGNALS[kind]}"]
    expected_code = -signum if kind == "kill-9" else 128 + signum
    assert stopped.returncode == expected_code, stopped.stderr
    epoch, batch = POINTS[point].split(":")
    if batch == "end":  # stopped before the next epoch's first batch
        assert checkpoint_position(tmp_path) == (int(epoch), 34)
    elif kind == "kill-9" or (kind == "SIGTERM" and batch == "-1"):  # the epoch before's end
        # checkpoint (on SIGTERM Lightning stops the epoch's validation at its first batch)
        assert checkpoint_position(tmp_path) == (int(epoch) - 1, 34)
    else:  # stopped after the step the signal arrived in (the last: after the epoch's end)
        served = 34 if batch == "-1" else (int(batch) + 1) * PER_STEP
        assert checkpoint_position(tmp_path) == (int(epoch), served)

    rerun = run_cli("hpo.study", *study_args(tmp_path), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    resumed = completed_trial(tmp_path)
    assert resumed.user_attrs["resumed_from"]["checkpoint"] is not None
    assert resumed.user_attrs["epochs_trained"] < EPOCHS
    gaps = differences(resumed, uninterrupted)
    print(f"{kind} at {point}: max |Δ| {gaps}")
    assert max(gaps.values()) <= TOLERANCE, gaps
