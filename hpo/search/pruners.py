"""Pruners by name. Each factory takes the pruning settings of the run.

pruner = create_pruner("median", PrunerSettings(startup_trials=5, warmup_epochs=2, max_epochs=10))
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.pruners import BasePruner

from hpo.search.registries import PRUNERS


@dataclass(frozen=True)
class PrunerSettings:
    startup_trials: int = 5  # trials that run to the end before any pruning
    warmup_epochs: int = 2  # epochs of each trial that are never pruned
    max_epochs: int = 10  # the most epochs a trial can train (hyperband's max resource)


def create_pruner(name: str, settings: PrunerSettings) -> BasePruner:
    return PRUNERS.get(name)(settings)


def median(s: PrunerSettings) -> BasePruner:
    """Stop a trial whose epoch value is worse than the median of earlier trials at that epoch."""
    return optuna.pruners.MedianPruner(
        n_startup_trials=s.startup_trials, n_warmup_steps=s.warmup_epochs
    )


def percentile(s: PrunerSettings) -> BasePruner:
    """Like median, but keep only trials in the best 25 % at each epoch."""
    return optuna.pruners.PercentilePruner(
        25.0, n_startup_trials=s.startup_trials, n_warmup_steps=s.warmup_epochs
    )


def hyperband(s: PrunerSettings) -> BasePruner:
    """Hyperband over epochs (1 … max_epochs, reduction factor 3)."""
    return optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=s.max_epochs, reduction_factor=3
    )


def asha(s: PrunerSettings) -> BasePruner:
    """Asynchronous successive halving (rungs at 1, 3, 9, … epochs)."""
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)


def none(s: PrunerSettings) -> BasePruner:
    """Never prune: every trial trains all its epochs."""
    return optuna.pruners.NopPruner()
