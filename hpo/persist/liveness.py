"""Which worker runs a trial, and what happens to trials whose worker is gone.

Rules (applied under the study lock, before a worker starts a trial):
1. Heartbeats: a RUNNING trial silent for the grace period is failed and re-queued (Optuna's
   `fail_stale_trials`; journal storages via hpo.journal_heartbeat).
2. Same machine, dead process: each trial records its worker (host, boot id, pid, process start
   time). A RUNNING trial whose worker ran on this machine and no longer exists is failed and
   re-queued at once, so a rerun right after a kill -9 does not wait for the grace period
   (Optuna cannot tell, optuna#2347: written by hand).
3. Interrupted (SIGTERM/SIGINT): the worker itself fails and re-queues its trial before exiting.
4. Lost claims: a claim redone after a storage restart (hpo.persist.retry) first re-queues the
   RUNNING trials this process claimed, since it runs none while claiming: their creation
   committed but the reply was cut off.
A re-queued trial is a WAITING copy with the same parameters and user attrs (its checkpoint
path), made by `RetryHeartbeatStaleTrialCallback`, at most `max_retry` times.
"""

from __future__ import annotations

import contextlib
import copy
import os
import socket
import warnings
from collections.abc import Collection, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from hpo.persist import internals
from hpo.persist.internals import base_storage
from hpo.persist.locks import study_lock
from hpo.persist.retry import LockLost

WORKER_KEY = "hpo:worker"


@cache
def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a reused pid apart)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def this_worker() -> dict[str, Any]:
    return dict(_worker(os.getpid()))


@cache
def _worker(pid: int) -> tuple[tuple[str, Any], ...]:
    """This process's record, read once (per pid: a forked child reads its own)."""
    return (
        ("host", socket.gethostname()),
        ("boot", boot_id()),
        ("pid", pid),
        ("start", process_start(pid)),
    )


def died_here(worker: dict[str, Any]) -> bool:
    """True if `worker` ran on this machine (same host and boot) and has exited."""
    if worker.get("host") != socket.gethostname() or worker.get("boot") != boot_id():
        return False
    if not boot_id() or worker.get("start") is None:
        return False  # cannot tell without /proc: leave it to the heartbeat
    return process_start(int(worker["pid"])) != worker["start"]


def ask_and_claim(study: optuna.Study) -> optuna.Trial:
    """`study.ask()`, the new trial marked as this process's from its first write."""
    return internals.ask_claimed(study, {WORKER_KEY: this_worker()})


def claim_trial(trial: optuna.Trial) -> None:
    """Mark `trial` as this process's (host, boot, pid, process start: see died_here)."""
    claim(trial.study, internals.trial_id(trial))


def claim(study: optuna.Study, trial_id: int, **note: Any) -> None:
    """`claim_trial` by id, with `note` added to the record (e.g. a result a worker handed
    over, awaiting its tell here: `trained_by=pid`)."""
    base_storage(study).set_trial_system_attr(trial_id, WORKER_KEY, {**this_worker(), **note})


def claim_unless_finished(study: optuna.Study, trial_id: int, **note: Any) -> bool:
    """`claim`, or False if the trial has finished meanwhile (its worker failed and re-queued
    it after a storage fault, or a sweep took it for dead): there is nothing left to claim."""
    try:
        claim(study, trial_id, **note)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    return True


def retry_callback(storage: BaseStorage):  # -> callable | None
    getter = getattr(storage, "get_heartbeat_stale_trial_callback", None)
    return getter() if getter is not None else None


class ClaimWindow:
    """The study lock held for one count-and-create (see `claim_window`)."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.trial: optuna.Trial | None = None

    def ask(self) -> optuna.Trial:
        """`ask_and_claim`, the trial remembered in case the lock turns out lost."""
        self.trial = ask_and_claim(self.study)
        return self.trial


@contextlib.contextmanager
def claim_window(
    study: optuna.Study, redo: bool = False, keep: Collection[int] = ()
) -> Iterator[ClaimWindow]:
    """Hold the study lock while the caller counts and (if the budget allows) creates a trial
    through `window.ask()`, so the total holds exactly however many processes share the study.
    `redo` (an earlier attempt failed on the storage): first `fail_lost_claims(study, keep)`.

    If the lock was lost while held (its database server restarted and this process carried
    on through new connections), another process may have counted and created meanwhile: the
    trial created here is failed, not re-queued (the other's trial takes its place in the
    budget; only its grid point, if it has one, is queued again), and LockLost is raised so the
    caller's retry counts again."""
    lock, window = study_lock(study), ClaimWindow(study)
    lock.acquire()
    try:
        if redo:
            fail_lost_claims(study, keep)
        yield window
    finally:
        if not lock.release() and window.trial is not None:
            _fail_created_under_lost_lock(study, window.trial)


#: What GridSampler stores on a trial to name its grid point (optuna/samplers/_grid.py).
GRID_ATTRS = ("grid_id", "search_space")


def _fail_created_under_lost_lock(study: optuna.Study, trial: optuna.Trial) -> None:
    """FAIL the trial; a grid point it was given is re-queued (GridSampler takes a failed
    trial's point for visited, and would never give it out again)."""
    storage, tid = base_storage(study), internals.trial_id(trial)
    reason = "created while the study lock was lost (its server restarted); not run"
    with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
        storage.set_trial_user_attr(tid, "stop_reason", reason)
        if storage.set_trial_state_values(tid, state=TrialState.FAIL):
            attrs = storage.get_trial(tid).system_attrs
            if "grid_id" in attrs:
                grid = {key: attrs[key] for key in GRID_ATTRS if key in attrs}
                study.add_trial(
                    optuna.trial.create_trial(state=TrialState.WAITING, system_attrs=grid)
                )
    raise LockLost(f"the study lock was lost while trial {trial.number} was created")


def fail_and_requeue(study: optuna.Study, trial_id: int, reason: str) -> FrozenTrial | None:
    """FAIL a RUNNING trial with `reason` and re-queue it; None if it was no longer running."""
    storage = base_storage(study)
    try:
        storage.set_trial_user_attr(trial_id, "stop_reason", reason)
        if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
            return None
    except (optuna.exceptions.UpdateFinishedTrialError, KeyError):
        return None
    failed = copy.deepcopy(storage.get_trial(trial_id))
    callback = retry_callback(storage)
    if callback is not None:
        callback(study, failed)
    return failed


def fail_dead_trials(
    study: optuna.Study, trials: Sequence[FrozenTrial] | None = None
) -> list[int]:
    """Rule 2: fail and re-queue RUNNING trials whose worker died on this machine
    (`trials`: the study's trials, if already fetched)."""
    if trials is None:
        trials = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    running = [t for t in trials if t.state == TrialState.RUNNING]
    failed = []
    for trial in running:
        worker = trial.system_attrs.get(WORKER_KEY)
        if worker and died_here(worker):
            reason = f"worker process {worker['pid']} on {worker['host']} died; re-queued"
            if fail_and_requeue(study, internals.trial_id(trial), reason) is not None:
                failed.append(trial.number)
    return failed


def fail_lost_claims(study: optuna.Study, keep: Collection[int] = ()) -> list[int]:
    """Rule 4: fail and re-queue RUNNING trials claimed by this process (call only while it
    runs no trial), except the trial ids in `keep` (a coordinator's trials handed to workers
    that have not claimed them yet)."""
    me, failed = this_worker(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.system_attrs.get(WORKER_KEY) == me and internals.trial_id(trial) not in keep:
            reason = "claimed by a request whose reply the storage lost; re-queued"
            if fail_and_requeue(study, internals.trial_id(trial), reason) is not None:
                failed.append(trial.number)
    return failed


def sweep_stale(study: optuna.Study, heartbeats: bool = True) -> None:
    """Rules 1 and 2 (rule 1 only if `heartbeats`: `optimize()` applies it itself before each
    trial); call under the study lock."""
    fail_dead_trials(study)
    if not heartbeats:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def stale_trial_numbers(study: optuna.Study) -> set[int]:
    """RUNNING trials that the next sweep would fail (for `status`; changes nothing)."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    ids = set(internals.stale_trial_ids(study))
    stale = {t.number for t in running if internals.trial_id(t) in ids}
    stale |= {t.number for t in running if died_here(t.system_attrs.get(WORKER_KEY) or {})}
    return stale
