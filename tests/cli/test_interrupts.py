"""Kill a real study process (SIGTERM, SIGINT, SIGKILL) mid-trial, rerun it, lose nothing."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from hpo.testing.helpers import cli_env, run_cli, wait_for_epochs

STUDY = "interrupted"
#: Signals are sent once 2 epochs are checkpointed: 6 more (~3 s idle, ~10 s under 3x load)
#: keep the trial running until the signal lands (with 4, a loaded run saw the trial finish).
EPOCHS = 8


def study_args(space: Path, url: str, n_trials: int = 1, epochs: int = EPOCHS) -> list[str]:
    return [
        "--n-trials", str(n_trials), "--max-epochs", str(epochs), "--space", str(space),
        "--storage", url, "--study-name", STUDY, "--pruner", "none", "--checkpoint-every", "1ep",
    ]  # fmt: skip


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hpo.study", *args],
        cwd=cwd,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def load(storage: str | BaseStorage, name: str = STUDY) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


def assert_finished_exactly(url: str, n_trials: int) -> list[optuna.trial.FrozenTrial]:
    trials = load(url).get_trials()
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == n_trials
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    return trials


def assert_resumed(trials: list[optuna.trial.FrozenTrial], killed: optuna.trial.FrozenTrial):
    """The killed trial was re-run with its parameters, from its checkpoint, keeping values."""
    retry = next(t for t in trials if t.system_attrs.get("failed_trial") == killed.number)
    assert retry.state == TrialState.COMPLETE
    assert retry.params == killed.params
    assert retry.user_attrs["resumed_from"]["epochs"] >= len(killed.intermediate_values) - 1 >= 1
    assert retry.user_attrs["epochs_trained"] < retry.user_attrs["epochs"] == EPOCHS
    assert sorted(retry.intermediate_values) == list(range(EPOCHS))
    for step, value in killed.intermediate_values.items():
        if step < retry.user_attrs["resumed_from"]["epochs"]:
            assert retry.intermediate_values[step] == pytest.approx(value)
    assert len(retry.user_attrs["curve"]) == EPOCHS


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_trial_requeues_it_and_rerun_resumes(
    tmp_path: Path, slow_space: Path, sqlite_url: str, signum: int
) -> None:
    args = study_args(slow_space, sqlite_url)
    proc = start(args, tmp_path)
    killed = wait_for_epochs(sqlite_url, proc, 2)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    assert f"trial #{killed.number} was stopped and re-queued" in err
    assert "Resume with the same command" in err and "--n-trials 1" in err
    states = {t.number: t.state for t in load(sqlite_url).get_trials()}
    assert states[killed.number] == TrialState.FAIL
    assert list(states.values()).count(TrialState.WAITING) == 1
    assert Path(load(sqlite_url).trials[killed.number].user_attrs["checkpoint"]).exists()

    rerun = run_cli("hpo.study", *args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    trials = assert_finished_exactly(sqlite_url, 1)
    assert_resumed(trials, killed)
    # Only the best (here: the one finished) trial's checkpoint is kept.
    kept = sorted(p.name for p in (tmp_path / STUDY).iterdir())
    assert kept == [f"trial_{trials[-1].number}"]


def test_kill_9_then_rerun_resumes_at_once(
    tmp_path: Path, slow_space: Path, sqlite_url: str
) -> None:
    args = study_args(slow_space, sqlite_url)
    proc = start(args, tmp_path)
    killed = wait_for_epochs(sqlite_url, proc, 2)
    proc.kill()
    proc.communicate()
    assert load(sqlite_url).trials[killed.number].state == TrialState.RUNNING

    rerun = run_cli("hpo.study", *args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "Waiting for" not in rerun.stdout  # a dead local worker is seen at once
    trials = assert_finished_exactly(sqlite_url, 1)
    assert "died" in trials[killed.number].user_attrs["stop_reason"]
    assert_resumed(trials, killed)


def test_corrupt_or_missing_checkpoint_means_training_from_scratch(tmp_path: Path) -> None:
    from hpo.persist.checkpoints import resume_point
    from hpo.persist.internals import base_storage, trial_id
    from hpo.persist.storages import open_storage

    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/s.db"))
    corrupt = tmp_path / "last.ckpt"
    corrupt.write_bytes(b"PK\x03\x04 truncated by a kill")
    for path in (corrupt, tmp_path / "missing.ckpt"):
        asked = study.ask()  # a retry carries its history and checkpoint before it runs:
        base_storage(study).set_trial_system_attr(trial_id(asked), "retry_history", [0])
        asked.set_user_attr("checkpoint", str(path))
        trial = optuna.Trial(study, trial_id(asked))
        with pytest.warns(UserWarning, match="training from scratch"):
            assert resume_point(trial) is None
    assert resume_point(study.ask()) is None  # a fresh trial resumes from nothing, silently


@pytest.mark.slow
def test_ten_random_kill_9_points_in_a_row_lose_nothing(
    tmp_path: Path, slow_space: Path, sqlite_url: str
) -> None:
    """kill -9 at 10 random moments (start-up, mid-epoch, mid-checkpoint, between trials...),
    each followed by a rerun; then one last rerun finishes the study."""
    import random

    rng = random.Random(4)
    args = study_args(slow_space, sqlite_url, n_trials=4, epochs=4)
    completed: dict[int, float] = {}
    for kill in range(10):
        proc = start(args, tmp_path)
        if kill % 2:  # any moment: start-up, storage writes, between trials...
            time.sleep(rng.uniform(1.0, 20.0))
        else:  # mid-training: mid-epoch, mid-checkpoint, mid-validation
            with contextlib.suppress(AssertionError):
                wait_for_epochs(sqlite_url, proc, 1, timeout=120)
            time.sleep(rng.uniform(0.0, 3.0))
        proc.kill()
        proc.communicate()
        try:
            trials = load(sqlite_url).trials
        except KeyError:
            continue
        now = {t.number: t.value for t in trials if t.state == TrialState.COMPLETE}
        assert completed.items() <= now.items()  # no completed trial lost or changed
        completed = now
    final = run_cli("hpo.study", *args, cwd=tmp_path, timeout=900)
    assert final.returncode == 0, final.stderr
    trials = assert_finished_exactly(sqlite_url, 4)
    assert completed.items() <= {t.number: t.value for t in trials}.items()
    resumed = [t for t in trials if (t.user_attrs.get("resumed_from") or {}).get("epochs")]
    print(f"{len(trials)} trials, {len(resumed)} resumed from a checkpoint")
    assert resumed  # at least one kill landed mid-training after a checkpoint
