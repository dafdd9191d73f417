"""Compare search methods fairly: same space, same budget, several seeds, one storage.

    jobs = [Job(experiment, method, seed, benchmark, command) for method, seed in ...]
    run_jobs(jobs, workers=2, say=print)                         # what `hpo compare` does

An experiment is product(methods, seeds) on one Benchmark (as syne-tune's benchmarking). Each
(method, seed) is its own study `<experiment>/<method>/seed<k>` in one storage; a rerun skips
finished studies and continues partial ones. This package only runs; hpo.analysis reads.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from multiprocessing import get_context
from typing import TYPE_CHECKING

import optuna

from hpo.bench.registries import METHODS
from hpo.config.metrics import create_metric
from hpo.config.run import RunConfig, share_cores
from hpo.config.space import NumericParam, SearchSpace
from hpo.errors import UsageError
from hpo.persist.notes import ComparisonPart, describe_comparison_study
from hpo.search.budget import Budget

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from hpo.persist.storages import Liveness

BUDGET_UNITS = ("trials", "epochs", "seconds")


@dataclass(frozen=True)
class Benchmark:
    """What every method is compared on: the run settings (dataset, model, space, pruner,
    epochs, metric) and the objective: `train` (real fits) or `table:PATH` (replay)."""

    config: RunConfig
    objective: str = "train"
    budget: Budget = field(default_factory=lambda: Budget(30))


@dataclass(frozen=True)
class Job:
    """One study of the experiment = product(methods, seeds) on one benchmark."""

    experiment: str
    method: str
    seed: int
    benchmark: Benchmark
    command: str
    threads: int | None = None  # torch threads when studies share the cores (--workers)

    @property
    def study_name(self) -> str:
        return f"{self.experiment}/{self.method}/seed{self.seed}"


def method_runner(name: str) -> Callable[[Job], str]:
    """How a method runs one job: its registered runner (hpo.bench.registries)."""
    return METHODS.get(name)


# ---------------------------------------------------------------- fairness rules


def sampler_seed(method: str, seed: int) -> int:
    """Each method draws from its own seed stream: TPE's random startup trials would otherwise
    repeat RandomSampler's first proposals with the same seed (see OPTUNA-NOTES.md)."""
    return seed * 1000 + zlib.crc32(method.encode()) % 1000


def trials_equivalent(budget: Budget, max_epochs: int) -> int:
    """The trial count a budget buys when every trial runs in full (sizes the grid)."""
    if budget.unit == "trials":
        return int(budget.amount)
    if budget.unit == "epochs":
        return max(1, int(budget.amount // max_epochs))
    raise UsageError(
        "a seconds budget cannot size a grid; compare grid on a trials or epochs budget"
    )


def budget_grid(space: SearchSpace, target: int, points: int | None = None) -> SearchSpace:
    """The space with continuous axes discretised so the grid is close to `target` points.

    Categorical and stepped axes keep all their values; each continuous axis (its `grid:` list
    ignored) gets the same number p ≥ 2 of points, the p whose grid size is nearest to the
    budget on a log scale (ties → the larger grid). GridSampler walks it in seeded random order,
    so a grid larger than the budget is a shuffled subset, not a corner of the space."""
    free = [n for n, p in space.params.items() if isinstance(p, NumericParam) and not p.step]
    params = {n: replace(p, grid=None) if n in free else p for n, p in space.params.items()}
    stripped = replace(space, params=params)
    if points is None:
        fixed_size = stripped.grid_size(2) // (2 ** len(free)) if free else 0
        if not free:
            return stripped
        candidates = range(2, max(3, target + 1))
        points = min(
            candidates,
            key=lambda p: (abs(math.log(fixed_size * p ** len(free) / target)), -p),
        )
    return replace(stripped, grid_points=points)


# ---------------------------------------------------------------- running one study


def run_sampler_study(job: Job) -> str:
    """Open (or resume) the job's study like `hpo study` does and run it to the budget."""
    study, config, space = open_job_study(job, job.method)
    return run_job_study(job, study, make_objective(job.benchmark, config, space), config)


def open_job_study(job: Job, sampler: str):
    """The job's study with `sampler`; the grid is sized to the budget. → (study, config, space)"""
    from hpo.search.logs import quiet_libraries
    from hpo.search.study import open_study

    bench = job.benchmark
    config = replace(bench.config, sampler=sampler, seed=job.seed, study_name=job.study_name)
    space = config.load_space()
    grid_info = None
    if sampler == "grid":
        space = budget_grid(space, trials_equivalent(bench.budget, config.max_epochs))
        grid_info = {"points": space.grid_points, "size": space.grid_size()}
    quiet_libraries(config.verbose)
    seed, storage = sampler_seed(job.method, job.seed), process_storage(config)
    study = open_study(config, space, job.command, seed, storage=storage)
    _check_and_tag(study, job, grid_info)
    part = ComparisonPart(job.experiment, job.method, job.seed, job.command)
    describe_comparison_study(study, config, space, part)  # experiment attr, note, names
    return study, config, space


@cache
def _storage(url: str, liveness: Liveness) -> BaseStorage:
    from hpo.persist.storages import open_storage

    return open_storage(url, liveness)


def process_storage(config: RunConfig) -> BaseStorage:
    """The benchmark's storage, opened once per process for every job it runs: opening a
    journal file replays all of it, 3.8 s per study by the end of a 180-study comparison's
    50 MB log (an RDB open checks its schema)."""
    from hpo.search.study import liveness_of

    return _storage(config.storage, liveness_of(config))


def run_job_study(job: Job, study, objective, config: RunConfig) -> str:
    """Run an opened study to the job's budget; one line saying how it went."""
    from hpo.search.budget import TooManyFailures, counted_trials, grid_exhausted, run_to_budget

    budget = job.benchmark.budget
    if budget.spent(study) >= budget.amount or grid_exhausted(study):
        return f"{job.study_name}: already done ({counted_trials(study)} trials), skipped"
    run = run_mirrored if job.benchmark.objective.startswith("table:") else run_to_budget
    start = time.perf_counter()
    try:
        outcome = run(study, objective, budget, config.timeout)
    except TooManyFailures as exc:
        return f"{job.study_name}: stopped: {exc}"
    finally:
        _sweep_checkpoints(study, config)
    return (
        f"{job.study_name}: {counted_trials(study)} trials ({outcome.stopped_because}), "
        f"{budget.spent(study):g} {budget.unit} spent, best {_best(study)} "
        f"[{time.perf_counter() - start:.1f} s]"
    )


def _sweep_checkpoints(study, config: RunConfig) -> None:
    """The last trial's checkpoints (earlier ones are swept as each trial starts)."""
    from hpo.persist.checkpoints import CheckpointJanitor, checkpoint_root

    CheckpointJanitor(checkpoint_root(config), config.keep_checkpoints)(study)


def run_mirrored(study, objective, budget: Budget, timeout: float | None):
    """run_to_budget on an in-memory twin of `study`, then one write of the new trials.

    A replayed trial costs microseconds, while on an RDB storage the median pruner re-reads
    every trial at every epoch: the round trips, not the replay, would dominate. The twin has
    the study's name, sampler, pruner and finished trials, so it proposes and prunes exactly as
    the study itself would (Hyperband brackets a trial by a hash of the study's name); the new
    trials are then added to the study as they finished."""
    from hpo.search.budget import run_to_budget

    twin = optuna.create_study(
        study_name=study.study_name,
        sampler=study.sampler,
        pruner=study.pruner,
        directions=study.directions,
    )
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    twin.add_trials(finished)
    try:
        return run_to_budget(twin, objective, budget, timeout)
    finally:
        study.add_trials(twin.get_trials(deepcopy=False)[len(finished) :])


def make_objective(bench: Benchmark, config: RunConfig, space: SearchSpace):
    if bench.objective.startswith("table:"):
        from hpo.bench.tables import table_objective

        metric = create_metric(config.metric, config.cap)
        path = bench.objective.removeprefix("table:")
        return table_objective(path, space, metric, config.max_epochs, config.seed)
    from hpo.search.objective import Objective

    return Objective(config, space)


def _check_and_tag(study, job: Job, grid_info: dict[str, int] | None) -> None:
    """The objective is part of what a study is; the budget may grow between reruns."""
    stored = study.user_attrs.get("compare")
    if stored and stored.get("objective") != job.benchmark.objective:
        raise UsageError(
            f"study {job.study_name!r} was run with objective {stored.get('objective')!r}, "
            f"not {job.benchmark.objective!r}; use another --experiment"
        )
    study.set_user_attr(
        "compare",
        {
            "experiment": job.experiment,
            "method": job.method,
            "seed": job.seed,
            "sampler_seed": sampler_seed(job.method, job.seed),
            "budget": asdict(job.benchmark.budget),
            "objective": job.benchmark.objective,
            "table": _table_description(job.benchmark.objective),
            "grid": grid_info,
        },
    )


def _table_description(objective: str) -> dict | None:
    if not objective.startswith("table:"):
        return None
    from hpo.bench.tables import describe_table

    return describe_table(objective.removeprefix("table:"))


def _best(study) -> str:
    try:
        return f"{study.best_value:.4g}"
    except RuntimeError:  # several objectives: no single best value
        return f"Pareto set of {len(study.best_trials)}"
    except ValueError:
        return "—"


# ---------------------------------------------------------------- running an experiment


def validate(bench: Benchmark, methods: list[str]) -> None:
    """Everything checkable before a study is opened or a process started."""
    from hpo.persist.urls import check_storage_url
    from hpo.search.validate import validate as validate_run

    for name in methods:
        METHODS.check(name)
    if "," in bench.config.metric:  # several objectives: only some samplers search them
        from hpo.search.validate import check_objectives

        for name in methods:
            check_objectives(replace(bench.config, sampler=name))
    if "grid" in methods and bench.budget.unit == "seconds":
        trials_equivalent(bench.budget, bench.config.max_epochs)
    if bench.objective == "train":
        validate_run(bench.config)
        return
    from hpo.bench.tables import check_table_space, open_table

    check_storage_url(bench.config.storage)
    create_metric(bench.config.metric, bench.config.cap)
    check_table_space(
        bench.config.load_space(),
        open_table(bench.objective.removeprefix("table:")),
        bench.config.max_epochs,
    )


def run_job(job: Job) -> str:
    if job.threads:  # real fits, and on a table the GP sampler's torch and BLAS
        import torch

        torch.set_num_threads(job.threads)  # N workers × all cores each would oversubscribe
        share_cores(job.threads)
    return method_runner(job.method)(job)


def run_jobs(jobs: list[Job], workers: int, say: Callable[[str], None]) -> int:
    """Run every job, in `workers` processes; a job that fails does not stop the others."""
    failed = 0
    if workers <= 1:
        for job in jobs:
            say(run_job(job))
        return failed
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                say(future.result())
            except UsageError:
                raise
            except Exception as exc:  # one broken study must not hide the others' results
                failed += 1
                say(f"{futures[future].study_name}: error: {type(exc).__name__}: {exc}")
    return failed
