"""The objective on real Lightning fits: median pruning of a poor trial, a diverging trial."""

import optuna

from hpo.config.run import RunConfig
from hpo.config.space import load_space
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
