"""Run a study up to its total budget, one trial at a time.

Optuna's `n_trials` counts per call (optuna#2638); the budget here is the study's, in trials,
epochs or seconds, spent by trials that finished (COMPLETE or PRUNED; failed ones do not count).
Optuna has no "total" option, so this loop is ours; each trial still goes through
`study.optimize` (callbacks, heartbeats, catch).

Several workers (processes, nodes) may run this loop on one study. For a budget in trials, the
step "count finished + running trials, then create one more if the total allows" runs under the
study's lock (hpo.persist.locks), which is released only once `ask()` has made the new trial
RUNNING; so the total holds exactly and a full study starts no trial at all. A worker with
nothing left to start waits while other workers' trials run: if one of them dies, its trial is
re-queued (see hpo.persist.liveness) and someone must run it. Budgets in epochs or seconds are
known only once trials finish, so with several workers they can be overshot by up to one trial
per worker. A claim cut short by a storage server restart is redone from its start, once the
server is back (hpo.persist.retry); a trial it created but could not hear of is re-queued by the
next claim (hpo.persist.liveness, rule 2).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.persist.internals import base_storage, trial_counts
from hpo.persist.liveness import claim_window, fail_dead_trials, sweep_stale
from hpo.persist.retry import retrying
from hpo.persist.storages import url_of
from hpo.search.trial_run import run_asked_trial
from hpo.train import signals

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
MAX_CONSECUTIVE_FAILURES = 5
POLL_SECONDS = 2.0


class TooManyFailures(RuntimeError):
    """Every recent trial failed: the problem is the setup, not the hyperparameters."""


@dataclass(frozen=True)
class Budget:
    """How much a study may spend: `trials`, `epochs` (trained, pruned trials included) or
    wall-clock `seconds` of training."""

    amount: float
    unit: str = "trials"

    def spent(self, study: optuna.Study, trials: Sequence[FrozenTrial] | None = None) -> float:
        """What finished trials spent (`trials`: the study's, if already fetched)."""
        if trials is None:
            trials = study.get_trials(deepcopy=False, states=COUNTED)
        trials = [t for t in trials if t.state in COUNTED]
        if self.unit == "trials":
            return len(trials)
        key = {"epochs": "epochs", "seconds": "wall_seconds"}[self.unit]
        return sum(float(t.user_attrs.get(key, 0)) for t in trials)

    def in_flight(self, study: optuna.Study, trials: Sequence[FrozenTrial] | None = None) -> float:
        """Spent plus what running trials will spend (known only for a budget in trials)."""
        if trials is None:
            trials = study.get_trials(deepcopy=False)
        if self.unit != "trials":
            return self.spent(study, trials)
        return sum(t.state in (*COUNTED, TrialState.RUNNING) for t in trials)


@dataclass
class Outcome:
    ran: int  # trials this call started
    stopped_because: str  # "budget", "grid exhausted", "timeout"
    waited: float = 0.0  # seconds spent waiting for other workers' trials


def counted_trials(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=COUNTED))


def grid_exhausted(
    study: optuna.Study, sampler: optuna.samplers.BaseSampler | None = None
) -> bool:
    """The grid sampler (`study.sampler` unless given) has no point left to run. Optuna counts
    a failed trial's point as visited, also when the trial was re-queued (stopped by a signal,
    its worker dead): while such a copy waits, the grid is not done."""
    sampler = sampler or study.sampler
    if not isinstance(sampler, optuna.samplers.GridSampler) or not sampler.is_exhausted(study):
        return False
    return not study.get_trials(deepcopy=False, states=(TrialState.WAITING,))


@dataclass
class Claim:
    """What the budget allows next, decided under the study lock."""

    step: str  # "run", "wait", "budget" or "grid exhausted"
    running: int  # trials running (in any worker) when it was decided
    trial: optuna.Trial | None = None  # for "run": a new trial, RUNNING and claimed


def run_to_budget(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    budget: Budget,
    timeout: float | None = None,
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
    on_wait: Callable[[int], None] | None = None,
) -> Outcome:
    """Run trials until the budget is spent, the grid is done, or `timeout` seconds pass.

    Raises `signals.Interrupted` after a SIGTERM/SIGINT, once the running trial (if any) has
    been failed and re-queued to resume from its checkpoint. `on_wait(n_running)` is called when
    this worker starts waiting for other workers' trials."""
    start = time.monotonic()
    ran = failures = 0
    waited = 0.0
    while True:
        signals.check()
        if timeout is not None and time.monotonic() - start >= timeout:
            return Outcome(ran, "timeout", waited)
        claim = claim_through_faults(study, budget)
        if claim.step in ("budget", "grid exhausted"):
            return Outcome(ran, claim.step, waited)
        if claim.trial is None:  # wait
            if waited == 0.0 and on_wait is not None:
                on_wait(claim.running)
            time.sleep(POLL_SECONDS)
            waited += POLL_SECONDS
            continue
        frozen = run_asked_trial(study, claim.trial, objective)
        ran += 1
        for callback in callbacks:  # (progress reads the best trial: redone after a fault)
            retrying(partial(callback, study, frozen), storage_url(study))
        failures = failures + 1 if frozen.state == TrialState.FAIL else 0
        if failures >= MAX_CONSECUTIVE_FAILURES:
            reason = frozen.user_attrs.get("stop_reason", "see the trial's fail reason")
            raise TooManyFailures(f"{failures} trials in a row failed; the last: {reason}")


def storage_url(study: optuna.Study) -> str | None:
    """The URL the study's storage was opened from (for retries and their messages)."""
    return url_of(base_storage(study))


def claim_through_faults(study: optuna.Study, budget: Budget) -> Claim:
    """claim_next, redone from its start after a storage fault (hpo.persist.retry); a redone
    claim first re-queues a trial an earlier attempt created but never heard of."""
    attempts = itertools.count()
    return retrying(lambda: claim_next(study, budget, next(attempts) > 0), storage_url(study))


def claim_next(study: optuna.Study, budget: Budget, redo: bool = False) -> Claim:
    """Under the study lock: count, then (if the budget allows) create and claim one trial, so
    the total holds exactly however many workers share the study. `redo`: an earlier attempt
    failed on the storage (see hpo.persist.liveness, rule 4)."""
    with claim_window(study, redo) as window:
        step, counts = next_step(study, budget)
        if step == "wait":  # are the running trials alive?
            sweep_stale(study)
            step, counts = next_step(study, budget)
        if step != "run":
            return Claim(step, counts[TrialState.RUNNING])
        return Claim(step, counts[TrialState.RUNNING], window.ask())


def next_step(study: optuna.Study, budget: Budget) -> tuple[str, Counter[TrialState]]:
    """Under the lock: "budget" (spent), "grid exhausted", "run" or "wait" (the rest of the
    budget is running in other workers), and the study's trials counted by state. A budget in
    trials needs only the counts (one query); epochs and seconds need the trials' attrs."""
    counts = trial_counts(study)
    if counts[TrialState.RUNNING] and fail_dead_trials(study):  # a rerun right after a kill
        counts = trial_counts(study)
    if budget.unit == "trials":
        spent = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
        flying = spent + counts[TrialState.RUNNING]
    else:
        trials = study.get_trials(deepcopy=False)
        spent, flying = budget.spent(study, trials), budget.in_flight(study, trials)
    if spent >= budget.amount:
        return "budget", counts
    if grid_exhausted(study):
        return "grid exhausted", counts
    return ("run" if flying < budget.amount else "wait"), counts
