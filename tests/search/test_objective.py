"""The objective on real Lightning fits: median pruning of a poor trial, a diverging trial."""

from pathlib import Path

import optuna

from hpo.config.run import RunConfig
from hpo.config.space import load_space
from hpo.persist.checkpoints import CheckpointJanitor, checkpoint_root, trial_dir
from hpo.search.objective import Objective
from hpo.testing.helpers import write_space


def _study_with(pruner: optuna.pruners.BasePruner, url: str) -> optuna.Study:
    return optuna.create_study(storage=url, direction="maximize", pruner=pruner)


def test_median_pruner_stops_a_poor_trial_after_its_first_epoch(tmp_path, sqlite_url):
    space_path = write_space(
        tmp_path,
        {
            "params": {
                "lr": {"type": "float", "low": 1e-7, "high": 0.1, "log": True},
                "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
            },
        },
    )
    config = RunConfig(max_epochs=4, space=str(space_path))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    study = _study_with(pruner, sqlite_url)
    for params in [{"lr": 0.02, "optimizer": "adam"}] * 2 + [{"lr": 1e-7, "optimizer": "sgd"}]:
        study.enqueue_trial(params)
    study.optimize(Objective(config, load_space(space_path)), n_trials=3)
    good, _, poor = study.trials
    assert good.state == optuna.trial.TrialState.COMPLETE and good.user_attrs["epochs"] == 4
    assert poor.state == optuna.trial.TrialState.PRUNED
    assert poor.user_attrs["epochs"] == 1 and poor.user_attrs["stop_reason"] == "pruned at epoch 1"


def test_a_diverging_trial_is_pruned_with_the_reason_and_the_study_goes_on(tmp_path, sqlite_url):
    space_path = write_space(
        tmp_path,
        {
            "params": {"lr": {"type": "float", "low": 1e-3, "high": 1e3, "log": True}},
            "fixed": {"optimizer": "sgd"},
        },
    )
    config = RunConfig(max_epochs=3, space=str(space_path))
    study = _study_with(optuna.pruners.NopPruner(), sqlite_url)
    study.enqueue_trial({"lr": 1e3})
    study.enqueue_trial({"lr": 0.05})
    study.optimize(Objective(config, load_space(space_path)), n_trials=2)
    diverged, fine = study.trials
    assert diverged.state == optuna.trial.TrialState.PRUNED
    assert diverged.user_attrs["stop_reason"].startswith("diverged: ")
    assert diverged.user_attrs["epochs"] == 1  # stopped at the first non-finite epoch
    assert fine.state == optuna.trial.TrialState.COMPLETE


def _three_trials(tmp_path, url: str, metric: str, direction: str, **config) -> optuna.Study:
    """A good trial, a worse one that completes, and a hopeless one the median pruner stops."""
    space_path = write_space(
        tmp_path,
        {
            "params": {
                "lr": {"type": "float", "low": 1e-7, "high": 0.1, "log": True},
                "optimizer": {"type": "categorical", "choices": ["adam", "momentum", "sgd"]},
            },
        },
    )
    config = RunConfig(space=str(space_path), storage=url, metric=metric, **config)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    study = optuna.create_study(storage=url, direction=direction, pruner=pruner)
    for params in [
        {"lr": 0.02, "optimizer": "adam"},
        {"lr": 0.001, "optimizer": "momentum"},
        {"lr": 1e-7, "optimizer": "sgd"},
    ]:
        study.enqueue_trial(params)
    study.optimize(Objective(config, load_space(space_path)), n_trials=3)
    CheckpointJanitor(checkpoint_root(config), config.keep_checkpoints)(study)  # as a run ends
    return study


def test_finished_trials_never_name_a_deleted_checkpoint(tmp_path, sqlite_url):
    study = _three_trials(
        tmp_path, sqlite_url, "val_acc", "maximize", max_epochs=3, checkpoint_every="1ep"
    )
    best, worse, pruned = study.trials
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert best.value > worse.value
    assert Path(best.user_attrs["checkpoint"]).is_file()  # --keep-checkpoints best
    assert worse.user_attrs["checkpoint"] is None  # it had one; the janitor deleted it
    assert pruned.user_attrs.get("checkpoint") is None
    assert not trial_dir(tmp_path, study.study_name, worse.number).exists()
    assert not trial_dir(tmp_path, study.study_name, pruned.number).exists()


def test_a_pruned_time_to_target_trial_scores_the_cap_not_its_loss(tmp_path, sqlite_url):
    study = _three_trials(
        tmp_path, sqlite_url, "time_to_val_acc:0.999", "minimize", max_epochs=3, cap="3ep"
    )
    pruned = study.trials[2]
    assert pruned.state == optuna.trial.TrialState.PRUNED
    assert pruned.user_attrs["epochs"] < 3
    assert pruned.value == 3.0  # the cap, in epochs; its last val_loss was about 2.3
    assert "the cap (3 epochs)" in pruned.user_attrs["value_is"]
    assert pruned.user_attrs["reached_target"] is False
    assert all(t.value == 3.0 for t in study.trials[:2])  # 99.9 % is never reached in 3 epochs
