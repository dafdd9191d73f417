"""Samplers as comparison methods: different seeds must search differently."""

from __future__ import annotations

import optuna

from hpo.config.space import parse_space
from hpo.search.samplers import create_sampler

SPACE = parse_space({"params": {"x": {"type": "float", "low": 0.0, "high": 1.0}}})


def _first_points(name: str, seed: int) -> list[float]:
    study = optuna.create_study(sampler=create_sampler(name, SPACE, seed))
    study.optimize(lambda t: SPACE.suggest(t)["x"], n_trials=4)
    return [t.params["x"] for t in study.trials]


def test_qmc_is_scrambled_so_seeds_differ() -> None:
    assert _first_points("qmc", 0) == _first_points("qmc", 0)
    assert _first_points("qmc", 0) != _first_points("qmc", 1)


def _pruned_above_half(trial: optuna.Trial) -> float:
    """Better the larger x is, but every x above 0.5 reports 0 and is pruned."""
    x = SPACE.suggest(trial)["x"]
    if x > 0.5:
        trial.report(0.0, step=0)
        raise optuna.TrialPruned()
    return x


def test_gp_learns_from_pruned_trials_instead_of_proposing_them_again() -> None:
    """Optuna's GPSampler models complete trials only: its model extrapolates upwards past
    x = 0.5, and it proposed x = 1.0 again and again (16 of trials 20–39 pruned, the last ten
    all at 1.0); ours sees the pruned trials' zeros and closes in on 0.5."""
    study = optuna.create_study(direction="maximize", sampler=create_sampler("gp", SPACE, 0))
    study.optimize(_pruned_above_half, n_trials=40)
    modelled = study.trials[20:]
    pruned = [t for t in modelled if t.state == optuna.trial.TrialState.PRUNED]
    assert len(pruned) <= 4, [round(t.params["x"], 3) for t in modelled]
    assert study.best_value > 0.49


def _gp_points(sampler: optuna.samplers.BaseSampler) -> list[float]:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: -((SPACE.suggest(t)["x"] - 0.3) ** 2), n_trials=14)
    return [t.params["x"] for t in study.trials]


def test_gp_proposes_what_optunas_does_and_on_the_cpu_whatever_the_default_device() -> None:
    """Ours runs GPSampler with torch function modes off (faster): without pruning it proposes
    exactly Optuna's points, and a default device set by the user (a mode; "meta" here, where
    no tensor has data, as "cuda" in optuna#6113) still does not reach it."""
    import torch

    ours = _gp_points(create_sampler("gp", SPACE, 0))
    assert ours == _gp_points(optuna.samplers.GPSampler(seed=0))
    torch.set_default_device("meta")
    try:
        assert _gp_points(create_sampler("gp", SPACE, 0)) == ours
    finally:
        torch.set_default_device(None)
