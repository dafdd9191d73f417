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
per worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.persist.internals import trial_id
from hpo.persist.liveness import claim_trial, fail_and_requeue, fail_dead_trials, sweep_stale
from hpo.persist.locks import Lock, study_lock
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


def grid_exhausted(study: optuna.Study) -> bool:
    sampler = study.sampler
    return isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study)


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
    lock = study_lock(study)
    last: list[FrozenTrial] = []
    ran = failures = 0
    waited = 0.0
    while True:
        signals.check()
        if timeout is not None and time.monotonic() - start >= timeout:
            return Outcome(ran, "timeout", waited)
        lock.acquire()
        try:
            step = _next_step(study, budget)
            if step == "wait":  # are the running trials alive? (optimize() checks before "run")
                sweep_stale(study)
                step = _next_step(study, budget)
            if step == "run":
                _optimize_one(study, objective, lock, [*callbacks, lambda _s, t: last.append(t)])
                ran += 1
        finally:
            lock.release()
        if step in ("budget", "grid exhausted"):
            return Outcome(ran, step, waited)
        if step == "wait":
            if waited == 0.0 and on_wait is not None:
                on_wait(len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))))
            time.sleep(POLL_SECONDS)
            waited += POLL_SECONDS
            continue
        failures = failures + 1 if last and last[-1].state == TrialState.FAIL else 0
        if failures >= MAX_CONSECUTIVE_FAILURES:
            reason = last[-1].user_attrs.get("stop_reason", "see the trial's fail reason")
            raise TooManyFailures(f"{failures} trials in a row failed; the last: {reason}")


def _next_step(study: optuna.Study, budget: Budget) -> str:
    """Under the lock: "budget" (spent), "grid exhausted", "run" or "wait" (the rest of the
    budget is running in other workers)."""
    trials = study.get_trials(deepcopy=False)
    if fail_dead_trials(study, trials):  # a rerun right after a kill: re-queued at once
        trials = study.get_trials(deepcopy=False)
    if budget.spent(study, trials) >= budget.amount:
        return "budget"
    if grid_exhausted(study):
        return "grid exhausted"
    return "run" if budget.in_flight(study, trials) < budget.amount else "wait"


def _optimize_one(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    lock: Lock,
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]],
) -> None:
    """One `study.optimize` trial; `lock` (held by the caller) is released as soon as `ask()`
    has made the trial RUNNING and this worker has claimed it."""
    current: list[optuna.Trial] = []

    def claimed_objective(trial: optuna.Trial) -> float:
        try:
            claim_trial(trial)
            current.append(trial)
        finally:
            lock.release()
        return objective(trial)

    try:
        study.optimize(claimed_objective, n_trials=1, catch=(Exception,), callbacks=callbacks)
    except signals.Interrupted as stop:
        if current:
            trial = current[0]
            fail_and_requeue(
                study, trial_id(trial), f"interrupted by {stop.signal_name}; re-queued"
            )
            stop.trial_number = trial.number  # type: ignore[attr-defined]
        raise
    except optuna.exceptions.UpdateFinishedTrialError:
        pass  # another worker declared this trial dead (stale heartbeat) and re-queued it
