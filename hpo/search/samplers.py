"""Samplers by name. Each factory takes the search space (grid needs it) and a seed.

sampler = create_sampler("tpe", space, seed=0)
"""

from __future__ import annotations

import contextlib
import warnings

import optuna
from optuna.samplers import BaseSampler

from hpo.config.space import SearchSpace
from hpo.persist.internals import PrunedAsComplete
from hpo.search.registries import SAMPLERS

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def create_sampler(name: str, space: SearchSpace, seed: int) -> BaseSampler:
    return SAMPLERS.get(name)(space, seed)


def resumed_seed(seed: int, worker_index: int) -> int:
    """The sampler seed of the `worker_index`-th process to join a study (0 = the first).

    A sampler re-created with the study's seed would replay its first random proposals (TPE's
    startup trials, random, QMC) and duplicate trials already run, and workers started at the
    same moment would propose the same points; the index is unique per process (claimed under
    the study lock, see hpo.search.study.claim_worker_index), so an uninterrupted single run stays
    reproducible and every other process samples fresh points. GridSampler is the exception:
    all its workers must share one seed (optuna#2039), so the caller passes index 0."""
    return seed if worker_index == 0 else seed + 1_000_003 * worker_index


def tpe(space: SearchSpace, seed: int) -> BaseSampler:
    """Tree-structured Parzen estimator (Optuna's default); first 10 trials are random."""
    return optuna.samplers.TPESampler(seed=seed)


def tpe_multivariate(space: SearchSpace, seed: int) -> BaseSampler:
    """TPE over the joint distribution of the parameters (multivariate, grouped by which
    parameters occur together); first 10 trials are random."""
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)


def random(space: SearchSpace, seed: int) -> BaseSampler:
    """Independent uniform / log-uniform sampling."""
    return optuna.samplers.RandomSampler(seed=seed)


def grid(space: SearchSpace, seed: int) -> BaseSampler:
    """Exhaustive grid over the space's grid values; ends when every point has run.

    Axes use their `grid:` lists, else `grid_points` values; points run in seeded random order."""
    return _Grid(space.grid(), seed=seed)


class _Grid(optuna.samplers.GridSampler):
    """GridSampler whose end is left to hpo's budget loop, which stops when the grid is
    exhausted (hpo.search.budget): Optuna's stops the study from `after_trial`, which is only
    allowed inside `study.optimize`, and hpo runs its trials itself (hpo.search.trial_run)."""

    def after_trial(self, study, trial, state, values) -> None:  # noqa: ANN001
        return None


def cmaes(space: SearchSpace, seed: int) -> BaseSampler:
    """CMA-ES on the numeric parameters; categoricals are sampled at random.

    Optuna's CmaEsSampler leaves categorical parameters out of its search space and draws them
    from its independent sampler (RandomSampler), so on lr × optimizer it adapts only the
    numeric axes while the optimizer stays uniform. Needs the `cmaes` package. (Its
    `consider_pruned_trials` left off: on the 5-D table it changed nothing, median best of 10
    seeds 0.9504 with it, 0.9502 without; CMA-ES draws from a distribution and does not get
    stuck on one pruned point as GPSampler did.)"""
    return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)


def qmc(space: SearchSpace, seed: int) -> BaseSampler:
    """Scrambled Sobol quasi-random sequence: even coverage of the space. (Optuna's default is
    unscrambled: every seed would walk the same points.)"""
    return optuna.samplers.QMCSampler(scramble=True, seed=seed, warn_independent_sampling=False)


def gp(space: SearchSpace, seed: int) -> BaseSampler:
    """Gaussian-process Bayesian optimisation (slow per trial beyond a few hundred trials).

    Categoricals are modelled directly (one-hot in the kernel); needs scipy and torch. Pruned
    trials count, with their last reported value (_PruningAwareGP)."""
    return _PruningAwareGP(seed=seed)


class _PruningAwareGP(optuna.samplers.GPSampler):
    """GPSampler that also learns from pruned trials, each at the value it was pruned with.

    Optuna's GPSampler models complete trials only (and counts only them towards its 10
    start-up trials). Under a pruner most trials end pruned, so it kept proposing the point its
    few complete trials favoured, pruned again each time: on the 5-D table 45–74 of 100 trials
    repeated a point. CmaEsSampler has `consider_pruned_trials` for this; GPSampler has no such
    option, so it reads the study through hpo.persist.internals.PrunedAsComplete."""

    def infer_relative_search_space(self, study, trial):  # noqa: ANN001, ANN201
        return super().infer_relative_search_space(PrunedAsComplete(study), trial)

    def sample_relative(self, study, trial, search_space):  # noqa: ANN001, ANN201
        with _plain_torch_dispatch():
            return super().sample_relative(PrunedAsComplete(study), trial, search_space)


def _plain_torch_dispatch():  # -> context manager
    """Torch function modes off while GPSampler runs: it forces its tensors onto the CPU with
    `with torch.device("cpu")` (optuna#6113), a mode that sends every one of its ~20,000 tiny
    tensor operations per trial through a Python handler. With modes off its tensors are made
    on the CPU all the same (a default device set elsewhere is a mode too) and the same points
    come out, in ~0.78 of the time (5-D table, 100 trials, five interleaved pairs; benchmarks/
    README.md). Torch has no public switch for this; without the private one it runs as is."""
    import torch

    return getattr(torch._C, "DisableTorchFunction", contextlib.nullcontext)()


def nsga2(space: SearchSpace, seed: int) -> BaseSampler:
    """NSGA-II genetic search for several objectives; generations of 10 trials.

    Optuna's default population (50) would leave a 30-trial study one random generation."""
    return optuna.samplers.NSGAIISampler(population_size=10, seed=seed)
