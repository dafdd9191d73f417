"""The time-to-target metric in a real `hpo.study` run (seed 003: train until an accuracy)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from hpo.config.metrics import create_metric, parse_cap
from hpo.errors import UsageError
from hpo.study import main


def test_a_real_study_scores_epochs_to_target_and_stops_there(
    space_file: Path, sqlite_url: str, one_torch_thread: None
) -> None:
    args = ["--space", str(space_file), "--storage", sqlite_url, "--sampler", "grid"]
    args += ["--n-trials", "3", "--max-epochs", "3", "--pruner", "none", "--quiet"]
    args += ["--metric", "time_to_val_acc:0.5", "--cap", "3ep", "--study-name", "ttt"]
    assert main(args) == 0
    study = optuna.load_study(study_name="ttt", storage=sqlite_url)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    trials = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(trials) == 3
    for t in trials:
        curve = t.user_attrs["curve"]
        assert all(row["elapsed_s"] > 0 and "train_acc" in row for row in curve)
        first = next((i + 1 for i, r in enumerate(curve) if r["val_acc"] >= 0.5), None)
        assert t.user_attrs["reached_target"] is (first is not None)
        assert t.value == (first or 3)
        assert t.user_attrs["epochs"] == (first or 3)  # training stopped at the target


def test_cap_and_target_errors_are_usage_errors() -> None:
    assert parse_cap("120").unit == "seconds" and parse_cap("15ep").amount == 15
    for spec, cap in [("time_to_acc", "10"), ("time_to_acc:2", "10"), ("time_to_acc:0.9", None)]:
        with pytest.raises(UsageError):
            create_metric(spec, cap)
    with pytest.raises(UsageError, match="--cap applies"):
        create_metric("val_acc", "10")
    with pytest.raises(UsageError):
        parse_cap("-3ep")
