"""Run a study up to its total budget, one trial at a time.

Optuna's `n_trials` counts per call (optuna#2638); the budget here is the study's, in trials,
epochs or seconds, spent by trials that finished (COMPLETE or PRUNED; failed ones do not count).
Optuna has no "total" option, so this loop is ours; each trial still goes through
`study.optimize` (callbacks, heartbeats, catch).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
MAX_CONSECUTIVE_FAILURES = 5


class TooManyFailures(RuntimeError):
    """Every recent trial failed: the problem is the setup, not the hyperparameters."""


@dataclass(frozen=True)
class Budget:
    """How much a study may spend: `trials`, `epochs` (trained, pruned trials included) or
    wall-clock `seconds` of training."""

    amount: float
    unit: str = "trials"

    def spent(self, study: optuna.Study) -> float:
        trials = study.get_trials(deepcopy=False, states=COUNTED)
        if self.unit == "trials":
            return len(trials)
        key = {"epochs": "epochs", "seconds": "wall_seconds"}[self.unit]
        return sum(float(t.user_attrs.get(key, 0)) for t in trials)


@dataclass
class Outcome:
    ran: int  # trials this call started
    stopped_because: str  # "budget", "grid exhausted", "timeout"


def counted_trials(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=COUNTED))


def grid_exhausted(study: optuna.Study) -> bool:
    sampler = study.sampler
    return isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study)


def run_to_budget(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    budget: Budget,
    timeout: float | None = None,
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
) -> Outcome:
    """Run trials until the budget is spent, the grid is done, or `timeout` seconds pass."""
    start = time.monotonic()
    last: list[FrozenTrial] = []
    ran = failures = 0
    while True:
        if budget.spent(study) >= budget.amount:
            return Outcome(ran, "budget")
        if grid_exhausted(study):
            return Outcome(ran, "grid exhausted")
        if timeout is not None and time.monotonic() - start >= timeout:
            return Outcome(ran, "timeout")
        study.optimize(
            objective,
            n_trials=1,
            catch=(Exception,),
            callbacks=[*callbacks, lambda _s, t: last.append(t)],
        )
        ran += 1
        failures = failures + 1 if last and last[-1].state == TrialState.FAIL else 0
        if failures >= MAX_CONSECUTIVE_FAILURES:
            reason = last[-1].user_attrs.get("stop_reason", "see the trial's fail reason")
            raise TooManyFailures(f"{failures} trials in a row failed; the last: {reason}")
