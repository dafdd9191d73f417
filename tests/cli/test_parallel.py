"""`--workers 2`: trials trained two at a time by worker processes, reproducibly: the same seed
gives the same study whatever the timing; signals and dead workers lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

from hpo.testing.helpers import cli_env, run_cli, wait_for_epochs

FLAGS = ["--n-trials", "6", "--max-epochs", "3", "--pruner-startup", "2", "--pruner-warmup", "0"]


def snapshot(url: str) -> list[tuple]:
    study = optuna.load_study(study_name="par", storage=url)
    return [
        (t.number, t.params, t.state.name, t.value, dict(t.intermediate_values))
        for t in study.trials
    ]


def test_two_parallel_runs_with_one_seed_give_identical_studies(
    tmp_path: Path, space_file: Path
) -> None:
    runs = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        args = [*FLAGS, "--space", str(space_file), "--storage", url, "--study-name", "par"]
        result = run_cli("hpo.study", *args, "--workers", "2", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "2 trials at a time" in result.stdout
        runs.append(snapshot(url))
    assert runs[0] == runs[1]
    assert len(runs[0]) == 6 and all(
        state in ("COMPLETE", "PRUNED") for _, _, state, *_ in runs[0]
    )
    records = [
        t.system_attrs["hpo:worker"]
        for t in optuna.load_study(study_name="par", storage=f"sqlite:///{tmp_path}/a.db").trials
    ]  # a result that waited for its turn is held by the coordinator, noting who trained it
    assert len({r.get("trained_by", r["pid"]) for r in records}) == 2  # two processes trained


def test_sigterm_requeues_the_batch_and_a_rerun_finishes_the_budget(
    tmp_path: Path, slow_space: Path, sqlite_url: str
) -> None:
    args = ["--n-trials", "4", "--max-epochs", "4", "--pruner", "none", "--workers", "2"]
    args += ["--space", str(slow_space), "--storage", sqlite_url, "--study-name", "par"]
    args += ["--checkpoint-every", "1ep"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpo.study", *args], cwd=tmp_path, env=cli_env(),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for_epochs(sqlite_url, proc, 1, name="par")
    proc.send_signal(signal.SIGTERM)  # to the coordinator only, as a batch system would
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert "was stopped and re-queued" in err
    states = [t.state for t in optuna.load_study(study_name="par", storage=sqlite_url).trials]
    assert TrialState.RUNNING not in states and states.count(TrialState.WAITING) >= 1
    rerun = run_cli("hpo.study", *args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    trials = optuna.load_study(study_name="par", storage=sqlite_url).trials
    finished = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(finished) == 4 and all(t.state != TrialState.RUNNING for t in trials)
    assert any((t.user_attrs.get("resumed_from") or {}).get("epochs") for t in finished)


def test_a_killed_worker_is_replaced_and_its_trial_rerun(
    tmp_path: Path, slow_space: Path, sqlite_url: str
) -> None:
    args = ["--n-trials", "3", "--max-epochs", "3", "--pruner", "none", "--workers", "2"]
    args += ["--space", str(slow_space), "--storage", sqlite_url, "--study-name", "par"]
    args += ["--checkpoint-every", "1ep"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpo.study", *args], cwd=tmp_path, env=cli_env(),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    running = wait_for_epochs(sqlite_url, proc, 1, name="par")
    os.kill(running.system_attrs["hpo:worker"]["pid"], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    trials = optuna.load_study(study_name="par", storage=sqlite_url).trials
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3
    assert TrialState.RUNNING not in [t.state for t in trials]
    dead = trials[running.number]
    assert dead.state == TrialState.FAIL and "died" in dead.user_attrs["stop_reason"]
