"""Several trials at once on this machine, reproducibly: worker processes on a work clock.

    outcome = run_in_workers(study, config, space, Budget(30), pool, callbacks=[progress])

Trials are asked (sampled) and told (written as finished) by this process only, in the order
of a clock that counts work, not time: each worker's trials follow each other on it, a trial
lasting the work its fits did (hpo.search.work_model: mini-batches and input values, the same
in every run). A trial starts when its worker's clock reaches the end of its previous
trial, and is sampled from, and judged by the pruner (SnapshotPruner) against, exactly the
trials that ended on the clock before that — the trials an asynchronous run would have seen,
were every trial to take its modelled time. Asks and tells happen in clock order (a tell first
at a tie; workers by index), each once no running trial can still end before it: a running
trial reports its work after every training step, and its end lies at least that far ahead.
So the same seed gives the same trials, pruning decisions and values whatever the timing, and a
worker waits only while a running trial is behind its modelled work (the model is rough off the
default study: that costs waiting, never a different result), or for trials that end where its
own did (trials of equal work, started together, end together: the next ones see them all).

Results told later than their trial ended keep their heartbeat (`beat`), so no sweep takes them
for dead.

How this differs from `--workers 1`: a trial does not see the trials running beside it (TPE's
first 10 random trials are the same ones). Optuna's `optimize(n_jobs=…)` runs threads that sample
and prune against whatever has finished by then, and its process-based recipe has no shared
order, so this loop is ours.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from multiprocessing import forkserver, get_all_start_methods, get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.config.run import RunConfig, available_cores, share_cores
from hpo.config.space import SearchSpace
from hpo.errors import UsageError
from hpo.persist.internals import beat, tell, trial_id
from hpo.persist.liveness import (
    claim_unless_finished,
    claim_window,
    fail_and_requeue,
    sweep_stale,
)
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
from hpo.search.trial_run import train_asked_trial
from hpo.search.work_model import PER_TRIAL
from hpo.train import signals

Callback = Callable[[optuna.Study, FrozenTrial], None]
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
BEAT_SECONDS = 5.0  # heartbeat of results awaiting their tell (grace periods are ≥ 10 s)


@dataclass(frozen=True)
class TrialJob:
    trial_id: int
    number: int
    told: frozenset[int]  # numbers of the trials finished when it was asked: the pruner's view


@dataclass(frozen=True)
class Progress:
    """A running trial's work so far (model seconds, without PER_TRIAL); the last one a worker
    sends before its result is the trial's whole work (messages arrive in order)."""

    work: float


@dataclass(frozen=True)
class JobResult:
    number: int
    value: float | Sequence[float] | None = None  # one per metric when there are several
    # how it ended; None if interrupted, crashed, or ended before it started (a sweep's)
    state: TrialState | None = None
    interrupted: int | None = None  # the signal, if the trial was stopped and re-queued
    crashed: str | None = None  # its worker died (the trial is re-queued by the next sweep)
    unreachable: str | None = None  # the storage stayed down (StorageUnreachable's message)


def run_in_workers(
    study: optuna.Study,
    config: RunConfig,
    space: SearchSpace,
    budget: Budget,
    pool: WorkerPool,
    callbacks: Sequence[Callback] = (),
    on_wait: Callable[[int], None] | None = None,
) -> Outcome:
    """Keep every worker of `pool` training until the budget is spent, the grid is done or
    --timeout passes. Raises `signals.Interrupted` (running trials re-queued, finished ones
    told) or TooManyFailures, as `run_to_budget` does."""
    coordinator = Coordinator(study, space, budget, pool, callbacks)
    start, waited = time.monotonic(), 0.0
    while True:
        if coordinator.stop is None:
            coordinator.stop = _stop_asked(config, start)
        event = coordinator.next_event()
        if event is not None:
            kind, key = event
            if kind == TELL:
                coordinator.tell(key)
            else:
                coordinator.ask(key)
        elif coordinator.flying:
            coordinator.collect(BEAT_SECONDS)
        elif coordinator.stop is not None:
            return coordinator.outcome(waited)
        else:  # the rest of the budget runs in other processes: are they alive?
            if waited == 0.0 and on_wait is not None:
                running = retrying(partial(_running, study), storage_url(study))
                on_wait(len(running))
            time.sleep(POLL_SECONDS)
            waited += POLL_SECONDS
            coordinator.blocked = False
            retrying(partial(_sweep, study), storage_url(study))


@contextmanager
def _locked(study: optuna.Study) -> Iterator[None]:
    lock = study_lock(study)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _running(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))


def _sweep(study: optuna.Study) -> None:
    with _locked(study):
        sweep_stale(study)


def _stop_asked(config: RunConfig, start: float) -> str | None:
    if signals.requested() is not None:
        return "interrupted"
    if config.timeout is not None and time.monotonic() - start >= config.timeout:
        return "timeout"
    return None


TELL, ASK = 0, 1  # at a tie on the work clock, a tell comes first


@dataclass
class Flying:
    """A trial a worker is training: where it started on the work clock, its work so far."""

    job: TrialJob
    start: float
    work: float = 0.0

    def ends_after(self) -> float:
        return self.start + PER_TRIAL + self.work  # its end on the clock is at least this


@dataclass
class Coordinator:
    """The coordinator's bookkeeping: trials asked and told in the order of the work clock."""

    study: optuna.Study
    space: SearchSpace
    budget: Budget
    pool: WorkerPool
    callbacks: Sequence[Callback]
    asked: int = 0  # trials asked so far
    clock: list[float] = field(default_factory=list)  # per worker: its last trial's end
    flying: dict[int, Flying] = field(default_factory=dict)  # worker → its trial
    # results not told yet: trial number → (job, result, its end on the clock)
    held: dict[int, tuple[TrialJob, JobResult, float]] = field(default_factory=dict)
    blocked: bool = False  # the budget or the grid has no room until a trial is told
    stop: str | None = None  # budget, grid exhausted, timeout, interrupted, failures, unreachable
    failures: int = 0  # failed trials in a row
    interrupted: JobResult | None = None
    failed_reason: str = ""
    unreachable: str = ""  # a worker's StorageUnreachable message
    beaten: float = 0.0  # when held results last had their heartbeat

    def __post_init__(self) -> None:
        self.clock = [0.0] * len(self.pool.processes)

    def next_event(self) -> tuple[int, int] | None:
        """(TELL, trial number) or (ASK, worker): the earliest event on the work clock, once
        no running trial can end before it; None if there is none yet. Once stopping, held
        results are told at once (no trial will be asked after them)."""
        tells = [(end, TELL, number) for number, (_, _, end) in self.held.items()]
        if self.stop is not None:
            return (TELL, min(tells)[2]) if tells else None
        asks = [] if self.blocked else [
            (self.clock[worker], ASK, worker)
            for worker in range(len(self.clock)) if worker not in self.flying
        ]  # fmt: skip
        if not tells and not asks:
            return None
        at, kind, key = min(tells + asks)
        if any(at >= running.ends_after() for running in self.flying.values()):
            return None  # a running trial may still end first
        return kind, key

    def ask(self, worker: int) -> None:
        """The budget's verdict and, if there is room, one more trial asked, its parameters
        sampled, and sent to `worker`; redone from its start after a storage fault."""
        attempts = itertools.count()
        step, job = retrying(lambda: self._ask(next(attempts) > 0), storage_url(self.study))
        if job is None:
            self.blocked = step == "wait"
            self.stop = None if step == "wait" else step
            return
        self.pool.submit(worker, job)
        self.flying[worker] = Flying(job, self.clock[worker])
        self.asked += 1

    def _ask(self, redo: bool) -> tuple[str, TrialJob | None]:
        """Under the study lock (`redo`: as budget.claim_next)."""
        # (a redo spares the trials handed to workers: they may not have claimed them yet)
        with claim_window(self.study, redo, keep=self._handed_out()) as window:
            step, _ = next_step(self.study, self.budget)
            if step == "run" and _grid_room(self.study, self.space) < 1:
                step = "wait"
            if step != "run":
                return step, None
            told = frozenset(
                t.number for t in self.study.get_trials(deepcopy=False, states=FINISHED)
            )
            trial = window.ask()  # ours until the worker claims it
            self.space.suggest(trial)
        return step, TrialJob(trial_id(trial), trial.number, told)

    def _handed_out(self) -> set[int]:
        jobs = [running.job for running in self.flying.values()]
        return {job.trial_id for job in jobs + [job for job, _, _ in self.held.values()]}

    def collect(self, timeout: float) -> None:
        """Wait up to `timeout` s for workers' progress or results; keep held results'
        heartbeats."""
        for worker, message in self.pool.collect(list(self.flying), timeout):
            running = self.flying[worker]
            if isinstance(message, Progress):
                running.work = message.work
                continue
            del self.flying[worker]
            self._hold(worker, running, message)
        now = time.monotonic()
        if now - self.beaten >= BEAT_SECONDS:
            self.beaten = now
            beat(self.study, [job.trial_id for job, r, _ in self.held.values() if r.state])

    def _hold(self, worker: int, running: Flying, result: JobResult) -> None:
        """A worker's result, held until its turn on the clock; the worker is free."""
        job = running.job
        end = running.ends_after()  # its last Progress came before the result
        self.clock[worker] = end
        self.held[job.number] = (job, result, end)
        url = storage_url(self.study)
        if result.crashed is not None:  # its worker never tells: fail and re-queue it now
            reason = f"{result.crashed}; re-queued"
            retrying(partial(fail_and_requeue, self.study, job.trial_id, reason), url)
        elif result.unreachable is not None:  # the storage stayed down: stop, one line
            self.unreachable = self.unreachable or result.unreachable
            self.stop = "unreachable"
        elif result.interrupted is not None:
            self.interrupted = self.interrupted or result
            self.stop = "interrupted"
        elif self.next_event() != (TELL, job.number):  # it waits: ours now, not its worker's
            # (unless it already ended: see JobResult)
            note = {"trained_by": self.pool.processes[worker].pid}
            retrying(partial(claim_unless_finished, self.study, job.trial_id, **note), url)

    def tell(self, number: int) -> None:
        """Tell a held result (a finished trial) and run the callbacks."""
        job, result, _ = self.held.pop(number)
        self.blocked = False  # a failed trial frees budget; a finished one may end the grid
        if result.state is None:  # interrupted (re-queued by its worker) or crashed
            return
        url = storage_url(self.study)
        trial = retrying(lambda: optuna.Trial(self.study, job.trial_id), url)
        frozen = retrying(lambda: tell(self.study, trial, result.value, result.state), url)
        if not frozen.state.is_finished():
            return
        for callback in self.callbacks:  # (redone after a storage fault)
            retrying(partial(callback, self.study, frozen), url)
        self.failures = self.failures + 1 if frozen.state == TrialState.FAIL else 0
        if self.failures >= MAX_CONSECUTIVE_FAILURES and self.stop is None:
            self.stop = "failures"
            reason = frozen.user_attrs.get("stop_reason", "see the trial's fail reason")
            self.failed_reason = f"{self.failures} trials in a row failed; the last: {reason}"

    def outcome(self, waited: float) -> Outcome:
        """How the run ended, once nothing is flying or held; raises for a signal or failures."""
        if self.interrupted is not None or self.stop == "interrupted":
            stop = signals.Interrupted(
                self.interrupted.interrupted if self.interrupted else signals.requested()
            )
            if self.interrupted is not None:
                stop.trial_number = self.interrupted.number  # type: ignore[attr-defined]
            raise stop
        if self.stop == "failures":
            raise TooManyFailures(self.failed_reason)
        if self.stop == "unreachable":
            raise UsageError(self.unreachable)
        return Outcome(self.asked, self.stop or "budget", waited)


def _grid_room(study: optuna.Study, space: SearchSpace) -> int:
    """Grid points no trial has started (GridSampler would repeat a started one)."""
    if not isinstance(study.sampler, optuna.samplers.GridSampler):
        return 1 << 30
    trials = study.get_trials(deepcopy=False)
    started = {t.system_attrs["grid_id"] for t in trials if "grid_id" in t.system_attrs}
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    return space.grid_size() - len(started) + waiting


#: What a worker imports to train (torch, Lightning, the datasets): imported once, by the fork
#: server, and shared by every worker forked from it, instead of once per spawned worker. The
#: last four are what a first trial imports on its way (scikit-learn for the data split and the
#: digits, matplotlib's Agg backend and PIL for its figures): preloaded, the default study ends
#: 0.5 s sooner (3.5 %, interleaved runs), the workers no longer importing them side by side.
WORKER_IMPORTS = [
    "hpo.search.objective",
    "hpo.search.logs",
    "hpo.search.validate",
    "sklearn.model_selection",
    "sklearn.datasets",
    "matplotlib.backends.backend_agg",
    "PIL.PngImagePlugin",
]


class WorkerPool:
    """`n` worker processes, each training one trial of the study at a time, forked from a
    server process that starts importing torch at once (this process never does: `preflight`
    runs in the first worker); spawned where there is no fork server. They run in a session of
    their own, so a terminal's Ctrl-C reaches them once, passed on from here with every
    SIGTERM/SIGINT this process gets.

        with WorkerPool(2, config, space) as pool:
            pool.preflight()                  # the data is there (else UsageError)
            run_in_workers(study, config, space, budget, pool)
    """

    def __init__(self, n: int, config: RunConfig, space: SearchSpace) -> None:
        threads = max(1, min(config.threads, available_cores() // n))
        share_cores(threads)  # here (the sampler runs beside the workers) and in the workers
        self._args = (replace(config, threads=threads), space)
        self._n = n
        self._context = _worker_context()  # (a fork server starts importing torch now)
        self.connections: list[Connection] = []
        self.processes: list = []
        if self._context.get_start_method() == "spawn":  # they import alone: start them now
            self._start_workers()

    def _start_workers(self) -> None:
        """Start the workers not started yet (forking waits for the server's imports)."""
        while len(self.processes) < self._n:
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

    def preflight(self, meanwhile: Callable[[], object] = lambda: None) -> None:
        """hpo.search.validate.preflight, in the first worker; its UsageError raised here.
        `meanwhile` runs here while torch is imported for the workers (it must not open the
        storage: nothing is stored before the check passes)."""
        meanwhile()
        self._start_workers()
        self.connections[0].send(PREFLIGHT)
        problem = self.connections[0].recv()
        if problem is not None:
            raise UsageError(problem)

    def submit(self, worker: int, job: TrialJob) -> None:
        if not self.processes[worker].is_alive():  # died while idle (kill -9, out of memory)
            self._start(worker)
        self.connections[worker].send(job)

    def collect(self, workers: list[int], timeout: float) -> list[tuple[int, JobResult]]:
        """The results of those of `workers` that finish within `timeout` s. A worker that died
        (kill -9, out of memory) is replaced; its trial is re-queued by the next sweep (its
        process is gone: hpo.persist.liveness)."""
        ready = wait([self.connections[i] for i in workers], timeout)
        results = []
        for worker in workers:
            if self.connections[worker] not in ready:
                continue
            try:
                results.append((worker, self.connections[worker].recv()))
            except (EOFError, ConnectionResetError):
                pid = self.processes[worker].pid
                results.append((worker, JobResult(-1, crashed=f"worker process {pid} died")))
                self._start(worker)
        return results

    def _forward(self, signum: int) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signum)


def _worker_context() -> BaseContext:
    """multiprocessing's fork server, preloaded with WORKER_IMPORTS (two workers spawned and
    importing torch side by side took the CPU of two imports, beside this process's own), or
    spawn where there is none (Windows)."""
    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    context = get_context("forkserver")
    context.set_forkserver_preload(WORKER_IMPORTS)
    forkserver.ensure_running()  # returns at once; the server imports, then forks on request
    return context


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
        meter = WorkSent(connection)
        objective = Objective(config, space, on_work=meter)
        opened: tuple[optuna.Study, optuna.pruners.BasePruner] | None = None
        while (request := connection.recv()) is not None:
            if request == PREFLIGHT:
                connection.send(_preflight(config, space))
                continue
            try:
                opened = opened or _open(config)
            except StorageUnreachable as gone:  # said once, by the coordinator
                connection.send(JobResult(request.number, unreachable=str(gone)))
                continue
            meter.work = 0.0
            connection.send(run_job(*opened, objective, request))
    # Told to stop: everything this worker wrote is committed, so skip the interpreter's
    # teardown (a second per worker, unloading torch) that the coordinator would wait for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class WorkSent:
    """The running trial's work (WorkMeter's), sent to the coordinator each time it grows."""

    def __init__(self, connection: Connection) -> None:
        self.connection, self.work = connection, 0.0

    def __call__(self, seconds: float) -> None:
        self.work += seconds
        self.connection.send(Progress(self.work))


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

    def load() -> optuna.Study:
        storage = open_storage(config.storage, liveness_of(config))
        sampler = optuna.samplers.RandomSampler()
        return optuna.load_study(study_name=config.name, storage=storage, sampler=sampler)

    settings = PrunerSettings(config.pruner_startup, config.pruner_warmup, config.max_epochs)
    return retrying(load, config.storage), create_pruner(config.pruner, settings)


def run_job(
    study: optuna.Study,
    pruner: optuna.pruners.BasePruner,
    objective: Callable[[optuna.Trial], float],
    job: TrialJob,
) -> JobResult:
    """Train one trial (its parameters already sampled), judged against the trials told before
    it was asked; its end goes back to the coordinator, which tells it in turn."""
    study.pruner = pruner
    url = storage_url(study)
    try:
        trial = retrying(lambda: optuna.trial.Trial(study, job.trial_id), url)
        trials = retrying(lambda: study.get_trials(deepcopy=False), url)
        earlier = [t for t in trials if t.number in job.told]
        if not retrying(lambda: claim_unless_finished(study, job.trial_id), url):
            return JobResult(job.number)  # a sweep took it for dead before it started
        value, state = train_asked_trial(study, trial, objective, earlier)
    except signals.Interrupted as stop:
        return JobResult(job.number, interrupted=stop.signum)
    except StorageUnreachable as gone:  # said once, by the coordinator
        return JobResult(job.number, unreachable=str(gone))
    return JobResult(job.number, value, state)
