"""Samplers by name. Each factory takes the search space (grid needs it) and a seed.

sampler = create_sampler("tpe", space, seed=0)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna
from optuna.samplers import BaseSampler

from hpo.registry import Registry
from hpo.search_space import SearchSpace

SAMPLERS: Registry[Callable[[SearchSpace, int], BaseSampler]] = Registry("sampler")

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def create_sampler(name: str, space: SearchSpace, seed: int) -> BaseSampler:
    return SAMPLERS.get(name)(space, seed)


def resumed_seed(seed: int, n_existing_trials: int) -> int:
    """The sampler seed for a process joining a study that already has trials.

    A sampler re-created with the study's seed would replay its first random proposals (TPE's
    startup trials, random, QMC) and duplicate trials already run; offsetting by the number of
    existing trials keeps an uninterrupted run reproducible and a resumed one fresh."""
    return seed if n_existing_trials == 0 else seed + 1_000_003 * n_existing_trials


@SAMPLERS.register("tpe")
def tpe(space: SearchSpace, seed: int) -> BaseSampler:
    """Tree-structured Parzen estimator (Optuna's default); first 10 trials are random."""
    return optuna.samplers.TPESampler(seed=seed)


@SAMPLERS.register("random")
def random(space: SearchSpace, seed: int) -> BaseSampler:
    """Independent uniform / log-uniform sampling."""
    return optuna.samplers.RandomSampler(seed=seed)


@SAMPLERS.register("grid")
def grid(space: SearchSpace, seed: int) -> BaseSampler:
    """Exhaustive grid over the space's grid values; ends when every point has run.

    Axes use their `grid:` lists, else `grid_points` values; points run in seeded random order."""
    return optuna.samplers.GridSampler(space.grid(), seed=seed)


@SAMPLERS.register("cmaes")
def cmaes(space: SearchSpace, seed: int) -> BaseSampler:
    """CMA-ES on the numeric parameters; categoricals are sampled at random."""
    return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)


@SAMPLERS.register("qmc")
def qmc(space: SearchSpace, seed: int) -> BaseSampler:
    """Scrambled Sobol quasi-random sequence: even coverage of the space."""
    return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)


@SAMPLERS.register("gp")
def gp(space: SearchSpace, seed: int) -> BaseSampler:
    """Gaussian-process Bayesian optimisation (slow per trial beyond a few hundred trials)."""
    return optuna.samplers.GPSampler(seed=seed)
