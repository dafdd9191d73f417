"""`hpo study` end to end: real studies of real Lightning fits on digits, checked through the
Optuna API."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from hpo.study import main
from hpo.testing.helpers import cli_env, run_cli

FAST = ["--max-epochs", "2", "--pruner", "none"]


def trials_of(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).trials


def test_cli_runs_a_study_with_progress_attrs_and_the_dashboard_command(
    tmp_path: Path, space_file: Path, sqlite_url: str
):
    result = run_cli(
        "hpo.study",
        "--n-trials",
        "3",
        "--space",
        str(space_file),
        "--storage",
        sqlite_url,
        "--max-epochs",
        "2",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[  3/3]" in out and "best " in out and "ETA" in out
    assert "Best trial #" in out and f"optuna-dashboard {sqlite_url}" in out
    # The hints work as pasted into a shell where the venv is not active.
    bare = {**cli_env(), "PATH": "/usr/bin:/bin"}
    for hint in ("Inspect it:", "with its artifacts:"):
        line = next(line for line in out.splitlines() if hint in line)
        words = shlex.split(line.split(hint, 1)[1])
        shown = subprocess.run([*words, "--help"], env=bare, cwd=tmp_path, capture_output=True)
        assert shown.returncode == 0 and b"usage" in shown.stdout.lower(), line
    study = optuna.load_study(study_name="digits-mnist_cnn-tpe", storage=sqlite_url)
    assert len(study.trials) == 3
    assert all(t.state.is_finished() for t in study.trials)
    for t in study.trials:
        assert t.user_attrs["epochs"] in (1, 2) and t.user_attrs["wall_seconds"] > 0
        assert t.user_attrs["n_params"] > 0 and t.user_attrs["stop_reason"]
        assert set(t.params) == {"lr", "optimizer"}
        assert len(t.user_attrs["curve"]) == t.user_attrs["epochs"]
    assert study.user_attrs["identity"]["space"]["params"]["lr"]["log"] is True
    assert study.user_attrs["config"]["n_trials"] == 3
    assert study.user_attrs["command"].startswith("python -m hpo.study --n-trials 3")
    assert 0.0 < study.best_value <= 1.0
    optuna_cli = Path(sys.executable).parent / "optuna"
    listed = subprocess.run(
        [
            str(optuna_cli),
            "trials",
            "--storage",
            sqlite_url,
            "--study-name",
            study.study_name,
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert len(json.loads(listed.stdout)) == 3  # the optuna CLI reads our file too


def test_n_trials_is_the_study_total_and_a_rerun_continues_to_it(space_file, sqlite_url, capsys):
    args = ["--space", str(space_file), "--storage", sqlite_url, *FAST, "--quiet"]
    assert main(["--n-trials", "2", *args]) == 0
    assert main(["--n-trials", "4", *args]) == 0
    assert len(trials_of(sqlite_url, "digits-mnist_cnn-tpe")) == 4
    capsys.readouterr()
    assert main(["--n-trials", "4", *args]) == 0
    assert "already done: 4 of 4" in capsys.readouterr().out
    numbers = [t.params["lr"] for t in trials_of(sqlite_url, "digits-mnist_cnn-tpe")]
    assert len(set(numbers)) == 4  # the resumed sampler does not replay the first proposals


def test_grid_stops_when_exhausted_and_says_so(space_file, sqlite_url, capsys):
    code = main(
        [
            "--sampler",
            "grid",
            "--n-trials",
            "10",
            "--space",
            str(space_file),
            "--storage",
            sqlite_url,
            *FAST,
        ]
    )
    assert code == 0
    trials = trials_of(sqlite_url, "digits-mnist_cnn-grid")
    assert len(trials) == 4  # 2 lr × 2 optimizers
    assert {(t.params["lr"], t.params["optimizer"]) for t in trials} == {
        (lr, opt) for lr in (0.01, 0.05) for opt in ("adam", "momentum")
    }
    out = capsys.readouterr().out
    assert "Grid exhausted: all 4 grid points ran, 4 of the 10-trial budget used" in out
    assert "[  4/4]" in out and "/10]" not in out  # progress counts the grid, not the budget


@pytest.mark.parametrize("signal_name", ["TERM", "KILL"])
def test_a_grid_point_interrupted_last_runs_when_the_study_is_resumed(
    signal_name: str, tmp_path: Path, space_file: Path, sqlite_url: str
) -> None:
    """Optuna's GridSampler counts a failed trial's point as visited: the re-queued copy of
    the last point, stopped by a signal, must still run before the grid is called exhausted."""
    args = ["--sampler", "grid", "--space", str(space_file), "--storage", sqlite_url, *FAST]
    assert run_cli("hpo.study", *args, "--n-trials", "3", cwd=tmp_path).returncode == 0
    signal_at = ["--signal", signal_name, "--at", "0:0", "--"]  # in this process's fit: one worker
    stopped = run_cli(
        "hpo.testing.interrupt", *signal_at, *args, "--n-trials", "10", "--workers", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert stopped.returncode != 0, stopped.stdout
    resumed = run_cli("hpo.study", *args, "--n-trials", "10", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "Grid exhausted: all 4 grid points ran" in resumed.stdout
    trials = trials_of(sqlite_url, "digits-mnist_cnn-grid")
    done = [(t.params["lr"], t.params["optimizer"]) for t in trials if t.state.name == "COMPLETE"]
    assert sorted(done) == [(lr, opt) for lr in (0.01, 0.05) for opt in ("adam", "momentum")]


def test_same_seed_gives_the_same_sequence_of_parameters(tmp_path, space_file):
    def sequence(seed: int, db: str) -> list[dict]:
        url = f"sqlite:///{tmp_path / db}"
        assert (
            main(
                [
                    "--sampler",
                    "random",
                    "--n-trials",
                    "3",
                    "--seed",
                    str(seed),
                    "--space",
                    str(space_file),
                    "--storage",
                    url,
                    *FAST,
                    "--quiet",
                ]
            )
            == 0
        )
        return [t.params for t in trials_of(url, "digits-mnist_cnn-random")]

    first = sequence(7, "a.db")
    assert sequence(7, "b.db") == first
    assert sequence(8, "c.db") != first


@pytest.mark.parametrize("metric, direction", [("val_acc", "MAXIMIZE"), ("val_loss", "MINIMIZE")])
def test_metric_sets_the_direction(metric, direction, space_file, sqlite_url):
    assert (
        main(
            [
                "--metric",
                metric,
                "--n-trials",
                "1",
                "--space",
                str(space_file),
                "--storage",
                sqlite_url,
                *FAST,
                "--quiet",
            ]
        )
        == 0
    )
    study = optuna.load_study(study_name="digits-mnist_cnn-tpe", storage=sqlite_url)
    assert study.direction.name == direction
