"""Several trials at once on this machine, reproducibly: batch-synchronous workers.

    outcome = run_batches(study, config, space, Budget(30), workers=2, callbacks=[progress])

Each batch: under the study lock (hpo.persist.locks) this process counts the budget, asks up to
k trials and samples their parameters in trial-number order, so the sampler sees exactly the
trials finished before the batch; k worker processes (started once, torch loaded once each)
train them at the same time, each judged by the pruner against those same finished trials
(SnapshotPruner); then the batch is reported in trial-number order and the next one sampled.
Same seed ⇒ same trials, pruning decisions and values, whatever the timing.

How this differs from `--workers 1`: the k trials of a batch are sampled from the same
results (TPE draws k proposals from one posterior; its first 10 random trials are the same
ones) and none is judged against another trial of its batch. A batch lasts as long as its
longest trial. Optuna's `optimize(n_jobs=…)` runs threads that sample and prune against
whatever has finished by then, and its process-based recipe has no shared order, so this loop
is ours.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from multiprocessing import get_context
from multiprocessing.connection import Connection

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.config.run import RunConfig, available_cores
from hpo.config.space import SearchSpace
from hpo.errors import UsageError
from hpo.persist.internals import trial_id
from hpo.persist.liveness import ask_and_claim, claim_trial, fail_lost_claims, sweep_stale
from hpo.persist.locks import study_lock
from hpo.persist.retry import StorageUnreachable, retrying
from hpo.search.budget import (
    MAX_CONSECUTIVE_FAILURES,
    POLL_SECONDS,
    Budget,
    Outcome,
    TooManyFailures,
    next_step,
    storage_url,
)
from hpo.search.trial_run import run_asked_trial
from hpo.train import signals

Callback = Callable[[optuna.Study, FrozenTrial], None]


@dataclass(frozen=True)
class TrialJob:
    trial_id: int
    number: int
    batch_start: int  # trials numbered below it that had finished are the pruner's snapshot


@dataclass(frozen=True)
class JobResult:
    number: int
    interrupted: int | None = None  # the signal, if the trial was stopped and re-queued
    crashed: str | None = None  # an error outside the objective (the trial was failed)
    unreachable: str | None = None  # the storage stayed down (StorageUnreachable's message)


def run_batches(
    study: optuna.Study,
    config: RunConfig,
    space: SearchSpace,
    budget: Budget,
    pool: WorkerPool,
    callbacks: Sequence[Callback] = (),
    on_wait: Callable[[int], None] | None = None,
) -> Outcome:
    """Run batches of up to one trial per worker of `pool` until the budget is spent, the grid
    is done or --timeout passes. Raises `signals.Interrupted` (after the running trials were
    re-queued) or TooManyFailures, as `run_to_budget` does."""
    start, ran, waited, failures = time.monotonic(), 0, 0.0, 0
    while True:
        signals.check()
        if config.timeout is not None and time.monotonic() - start >= config.timeout:
            return Outcome(ran, "timeout", waited)
        step, batch = _next_batch_through_faults(study, space, budget, len(pool.processes))
        if step in ("budget", "grid exhausted"):
            return Outcome(ran, step, waited)
        if step == "wait":
            if waited == 0.0 and on_wait is not None:
                on_wait(len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))))
            time.sleep(POLL_SECONDS)
            waited += POLL_SECONDS
            continue
        results = pool.run(batch)
        ran += len(batch)
        failures = _report(study, results, callbacks, failures)


def _next_batch_through_faults(
    study: optuna.Study, space: SearchSpace, budget: Budget, workers: int
) -> tuple[str, list[TrialJob]]:
    """_next_batch, redone from its start after a storage fault (as claim_through_faults)."""
    attempts = itertools.count()
    return retrying(
        lambda: _next_batch(study, space, budget, workers, next(attempts) > 0), storage_url(study)
    )


def _next_batch(
    study: optuna.Study, space: SearchSpace, budget: Budget, workers: int, redo: bool = False
) -> tuple[str, list[TrialJob]]:
    """Under the study lock: the budget's verdict and, for "run", the batch's trials, asked
    and sampled in number order (`redo`: as claim_next)."""
    lock = study_lock(study)
    lock.acquire()
    try:
        if redo:
            fail_lost_claims(study)
        step, counts = next_step(study, budget)
        if step == "wait":  # are the running trials alive?
            sweep_stale(study)
            step, counts = next_step(study, budget)
        if step != "run":
            return step, []
        done = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
        room = int(budget.amount) - done - counts[TrialState.RUNNING]
        size = min(workers, room, _grid_room(study, space))
        batch_start = sum(counts.values())
        jobs = []
        for _ in range(max(size, 1)):
            trial = ask_and_claim(study)  # ours until the worker claims it
            space.suggest(trial)  # the parameters, sampled here, in order
            jobs.append(TrialJob(trial_id(trial), trial.number, batch_start))
        return "run", jobs
    finally:
        lock.release()


def _grid_room(study: optuna.Study, space: SearchSpace) -> int:
    """Grid points no trial has started (GridSampler would repeat a started one)."""
    if not isinstance(study.sampler, optuna.samplers.GridSampler):
        return 1 << 30
    trials = study.get_trials(deepcopy=False)
    started = {t.system_attrs["grid_id"] for t in trials if "grid_id" in t.system_attrs}
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    return max(1, space.grid_size() - len(started) + waiting)


def _report(
    study: optuna.Study, results: list[JobResult], callbacks: Sequence[Callback], failures: int
) -> int:
    """Callbacks in trial order; the consecutive-failure count; interruption re-raised."""
    interrupted = [r for r in results if r.interrupted is not None]
    trials = retrying(lambda: study.get_trials(deepcopy=False), storage_url(study))
    by_number = {t.number: t for t in trials}
    last: FrozenTrial | None = None
    for result in sorted(results, key=lambda r: r.number):
        trial = by_number[result.number]
        if trial.state.is_finished():  # (not when interrupted or its worker died: re-queued)
            for callback in callbacks:  # (redone after a storage fault)
                retrying(partial(callback, study, trial), storage_url(study))
            failures = failures + 1 if trial.state == TrialState.FAIL else 0
            last = trial
    if interrupted:
        stop = signals.Interrupted(interrupted[0].interrupted)
        stop.trial_number = interrupted[0].number  # type: ignore[attr-defined]
        raise stop
    if failures >= MAX_CONSECUTIVE_FAILURES and last is not None:
        reason = last.user_attrs.get("stop_reason", "see the trial's fail reason")
        raise TooManyFailures(f"{failures} trials in a row failed; the last: {reason}")
    return failures


class WorkerPool:
    """`n` spawned processes, each training one trial of the study at a time. They start
    importing torch at once (this process never does: `preflight` runs in the first worker).
    They run in a session of their own, so a terminal's Ctrl-C reaches them once, passed on
    from here with every SIGTERM/SIGINT this process gets.

        with WorkerPool(2, config, space) as pool:
            pool.preflight()                  # the data is there (else UsageError)
            run_batches(study, config, space, budget, pool)
    """

    def __init__(self, n: int, config: RunConfig, space: SearchSpace) -> None:
        threads = max(1, min(config.threads, available_cores() // n))
        self._args = (replace(config, threads=threads), space)
        self._context = get_context("spawn")
        self.connections: list[Connection] = []
        self.processes: list = []
        for _ in range(n):
            self._start(None)

    def _start(self, index: int | None) -> None:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=serve, args=(theirs, *self._args), daemon=True)
        process.start()
        if index is None:
            self.connections.append(ours)
            self.processes.append(process)
        else:
            self.connections[index], self.processes[index] = ours, process

    def __enter__(self) -> WorkerPool:
        self._forwarding = signals.also_on_signal(self._forward)
        self._forwarding.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._forwarding.__exit__(None, None, None)
        for connection in self.connections:
            try:
                connection.send(None)
            except OSError:
                pass
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()

    def preflight(self) -> None:
        """hpo.search.validate.preflight, in the first worker; its UsageError raised here."""
        self.connections[0].send(PREFLIGHT)
        problem = self.connections[0].recv()
        if problem is not None:
            raise UsageError(problem)

    def run(self, jobs: list[TrialJob]) -> list[JobResult]:
        """Train the jobs at once (one per worker) and wait for all of them. A worker that
        died (kill -9, out of memory) is replaced; its trial is re-queued by the next batch's
        sweep (its process is gone: hpo.persist.liveness)."""
        for connection, job in zip(self.connections, jobs, strict=False):
            connection.send(job)
        results = []
        for index, job in enumerate(jobs):
            try:
                results.append(self.connections[index].recv())
            except (EOFError, ConnectionResetError):
                pid = self.processes[index].pid
                results.append(JobResult(job.number, crashed=f"worker process {pid} died"))
                self._start(index)
        return results

    def _forward(self, signum: int) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signum)


# ---------------------------------------------------------------- inside a worker process


PREFLIGHT = "preflight"


def serve(connection: Connection, config: RunConfig, space: SearchSpace) -> None:
    """A worker: import what training needs, then answer the coordinator's requests (the
    preflight check, trials to train) until told to stop. The study is opened at the first
    trial: it may not exist before."""
    from hpo.search.logs import quiet_libraries
    from hpo.search.objective import Objective

    os.setsid()  # signals come from the coordinator only (WorkerPool._forward)
    with signals.graceful_stop(announce=False):
        quiet_libraries(config.verbose)
        objective = Objective(config, space)
        opened: tuple[optuna.Study, optuna.pruners.BasePruner] | None = None
        while (request := connection.recv()) is not None:
            if request == PREFLIGHT:
                connection.send(_preflight(config, space))
                continue
            opened = opened or _open(config)
            connection.send(run_job(*opened, objective, request))


def _preflight(config: RunConfig, space: SearchSpace) -> str | None:
    from hpo.search.validate import preflight

    try:
        preflight(config, space)
    except UsageError as problem:
        return str(problem)
    return None


def _open(config: RunConfig) -> tuple[optuna.Study, optuna.pruners.BasePruner]:
    from hpo.persist.storages import open_storage
    from hpo.search.pruners import PrunerSettings, create_pruner
    from hpo.search.study import liveness_of

    storage = open_storage(config.storage, liveness_of(config))
    settings = PrunerSettings(config.pruner_startup, config.pruner_warmup, config.max_epochs)
    study = optuna.load_study(
        study_name=config.name, storage=storage, sampler=optuna.samplers.RandomSampler()
    )
    return study, create_pruner(config.pruner, settings)


def run_job(
    study: optuna.Study,
    pruner: optuna.pruners.BasePruner,
    objective: Callable[[optuna.Trial], float],
    job: TrialJob,
) -> JobResult:
    """Train one trial of a batch (its parameters already sampled), judged against the trials
    finished before the batch began."""
    study.pruner = pruner
    url = storage_url(study)
    trial = optuna.trial.Trial(study, job.trial_id)
    try:
        trials = retrying(lambda: study.get_trials(deepcopy=False), url)
        earlier = [t for t in trials if t.number < job.batch_start]
        retrying(lambda: claim_trial(trial), url)
        run_asked_trial(study, trial, objective, earlier)
    except signals.Interrupted as stop:
        return JobResult(job.number, interrupted=stop.signum)
    except StorageUnreachable as gone:  # said once, by the coordinator
        return JobResult(job.number, unreachable=str(gone))
    return JobResult(job.number)
