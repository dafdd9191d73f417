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
