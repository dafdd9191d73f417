"""Replay table: nearest-LR lookup, curve replay through the pruner, and a real tiny build."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import optuna
import pytest

from hpo.bench.replay import DEFAULT_TABLE, Table, load_table, replay_curve, save_table
from hpo.config.metrics import create_metric
from hpo.config.space import parse_space
from hpo.testing.helpers import ROOT, run_cli


def rows(accs: list[float], loss: float | None = 1.0, secs: float = 0.5) -> list[dict]:
    return [
        {
            "val_acc": a,
            "val_loss": loss,
            "train_acc": a,
            "train_loss": loss,
            "elapsed_s": secs * (i + 1),
        }
        for i, a in enumerate(accs)
    ]


@pytest.fixture
def table_path(tmp_path: Path) -> Path:
    """Two optimizers × three learning rates × one repeat, four epochs each."""
    good, bad = rows([0.5, 0.8, 0.9, 0.95]), rows([0.1, 0.1, 0.12, 0.15])
    diverged = rows([0.1, 0.1], loss=None)
    curves = {
        "adam": [[bad], [good], [diverged]],
        "sgd": [[bad], [bad], [good]],
    }
    path = tmp_path / "t.json.gz"
    save_table(path, Table((1e-4, 1e-2, 1.0), curves, {"max_epochs": 4}))
    return path


def test_lookup_takes_the_nearest_lr_on_the_log_scale(table_path: Path) -> None:
    table = load_table(str(table_path))
    assert table.optimizers == ["adam", "sgd"] and table.repeats == 1
    assert table.nearest_lr_index(1e-4) == 0
    assert table.nearest_lr_index(9e-4) == 0  # log-distance 0.95 decades to 1e-4, 1.05 to 1e-2
    assert table.nearest_lr_index(1.1e-3) == 1
    assert table.nearest_lr_index(0.2) == 2
    assert table.curve("adam", 0.011, 0)[1]["val_acc"] == 0.8


def _study(n_startup: int = 1) -> optuna.Study:
    pruner = optuna.pruners.MedianPruner(n_startup_trials=n_startup, n_warmup_steps=0)
    return optuna.create_study(direction="maximize", pruner=pruner)


def test_replay_reports_every_epoch_and_the_pruner_stops_a_bad_curve() -> None:
    study = _study()
    metric = create_metric("val_acc")
    study.optimize(lambda t: replay_curve(t, rows([0.5, 0.8, 0.9, 0.95]), metric), n_trials=1)
    study.optimize(lambda t: replay_curve(t, rows([0.1, 0.1, 0.12, 0.15]), metric), n_trials=1)
    good, bad = study.trials
    assert good.state == optuna.trial.TrialState.COMPLETE and good.value == 0.95
    assert good.intermediate_values == {0: 0.5, 1: 0.8, 2: 0.9, 3: 0.95}
    assert good.user_attrs["epochs"] == 4 and good.user_attrs["wall_seconds"] == 2.0
    assert bad.state == optuna.trial.TrialState.PRUNED
    assert bad.user_attrs["epochs"] == 1 and bad.user_attrs["stop_reason"] == "pruned at epoch 1"
    assert bad.user_attrs["wall_seconds"] == 0.5


def test_a_non_finite_loss_replays_as_divergence_after_its_epoch_is_reported() -> None:
    """As in a real fit (the pruning callback reports the epoch, then DivergenceStop ends the
    fit): the diverged trial keeps the epoch's accuracy as its value."""
    study = _study(n_startup=10)
    metric = create_metric("val_acc")
    study.optimize(lambda t: replay_curve(t, rows([0.1, 0.1], loss=None), metric), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["stop_reason"] == "diverged: train_loss=nan at epoch 1"
    assert trial.intermediate_values == {0: 0.1} and trial.value == 0.1


def test_time_to_target_stops_when_reached_and_scores_the_cap_otherwise() -> None:
    study = _study(n_startup=10)
    metric = create_metric("time_to_acc:0.9", cap="3ep")
    study.optimize(lambda t: replay_curve(t, rows([0.5, 0.8, 0.9, 0.95]), metric), n_trials=1)
    study.optimize(lambda t: replay_curve(t, rows([0.1, 0.2, 0.3, 0.4]), metric), n_trials=1)
    reached, missed = study.trials
    assert reached.value == 3 and reached.user_attrs["epochs"] == 3
    assert reached.user_attrs["reached_target"] is True
    assert missed.value == 3 and missed.user_attrs["reached_target"] is False
    assert missed.user_attrs["epochs"] == 3  # stopped at the cap, not after all 4 epochs
    seconds = create_metric("time_to_acc:0.9", cap="1.2")
    assert seconds.value(rows([0.5, 0.95])) == 1.0  # reached at 1.0 s, within the 1.2 s cap
    assert seconds.value(rows([0.5, 0.8, 0.95])) == 1.2  # reached at 1.5 s: over the cap


def test_table_objective_answers_a_study(table_path: Path) -> None:
    from hpo.bench.replay import TableObjective

    space = parse_space(
        {
            "params": {
                "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
                "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
            }
        }
    )
    objective = TableObjective(str(table_path), space, create_metric("val_acc"), 4, seed=0)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    study.enqueue_trial({"lr": 0.012, "optimizer": "adam"})
    study.enqueue_trial({"lr": 0.5, "optimizer": "sgd"})
    study.optimize(objective, n_trials=2)
    assert [t.value for t in study.trials] == [0.95, 0.95]
    assert study.trials[0].user_attrs["table_lr"] == 1e-2


def test_build_writes_a_table_that_replays_the_real_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], one_torch_thread: None
) -> None:
    from hpo.replay import main

    out, db = tmp_path / "table.json.gz", f"sqlite:///{tmp_path / 'build.db'}"
    argv = ["build", "--out", str(out), "--storage", db, "--optimizers", "adam", "--n-lrs", "2"]
    argv += ["--lr-low", "1e-3", "--lr-high", "1e-2", "--repeats", "1", "--max-epochs", "2"]
    argv += ["--width", "2"]
    assert main(argv) == 0
    data = json.loads(gzip.open(out, "rt").read())
    assert data["lrs"] == pytest.approx([1e-3, 1e-2])
    assert data["meta"]["max_epochs"] == 2 and "hpo.replay build" in data["meta"]["command"]
    stored = optuna.load_study(study_name="replay-build:digits:mnist_cnn:2", storage=db)
    table = load_table(str(out))
    for trial in stored.trials:
        curve = table.curves["adam"][trial.user_attrs["lr_index"]][0]
        assert len(curve) == 2 and curve[-1]["train_acc"] is not None
        assert curve[-1]["val_acc"] == pytest.approx(trial.value, abs=1e-5)
    capsys.readouterr()
    assert main(argv) == 0  # a rerun resumes: nothing left to train
    assert "[1/" not in capsys.readouterr().out
    assert len(stored.get_trials()) == 2


def test_the_shipped_table_is_small_and_complete() -> None:
    path = ROOT / DEFAULT_TABLE
    assert path.stat().st_size < 400_000
    table = load_table(str(path))
    assert len(table.optimizers) == 7 and len(table.lrs) == 24 and table.repeats == 2
    assert all(len(reps) == 2 for per_lr in table.curves.values() for reps in per_lr)


def test_a_missing_table_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli(
        "hpo.compare",
        "--experiment",
        "x",
        "--objective",
        f"table:{tmp_path / 'nope.gz'}",
        "--space",
        str(ROOT / "conf/spaces/replay.yaml"),
        "--storage",
        f"sqlite:///{tmp_path / 's.db'}",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "replay table" in result.stderr
    assert not (tmp_path / "s.db").exists()
