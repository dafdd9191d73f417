"""Compare search methods fairly: same space, same budget, several seeds, one storage.

    python -m hpo.compare --samplers grid,random,tpe --n-trials 30 --seeds 0-9 --experiment cmp
    python -m hpo.compare --budget epochs:300 --seeds 0-4 --experiment cmp-epochs
    python -m hpo.compare --objective table:hpo/tables/digits_mnist_cnn.json.gz \\
        --space conf/spaces/replay.yaml --n-trials 50 --seeds 0-9 --experiment replay
    python -m hpo.report --experiment cmp --out reports/cmp        # then read the results

Each (method, seed) is its own study `<experiment>/<method>/seed<k>` in one storage; a rerun
skips finished studies and continues partial ones. This command only runs; hpo.report reads.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from itertools import product
from multiprocessing import get_context

from hpo.budget import Budget
from hpo.cli import EXIT_ABORTED, ArgumentParser, cli_main
from hpo.config import RunConfig
from hpo.errors import UsageError
from hpo.methods import METHODS
from hpo.search_space import NumericParam, SearchSpace
from hpo.storage import redact

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
    import hpo.baselines  # noqa: F401  (registers the methods that are not samplers)
    from hpo.samplers import SAMPLERS

    if name in METHODS:
        return METHODS.get(name)
    if name in SAMPLERS:
        return run_sampler_study
    raise UsageError(
        f"unknown method {name!r}; choose samplers ({', '.join(SAMPLERS.names())}) "
        f"or methods ({', '.join(METHODS.names()) or 'none registered'})"
    )


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
    """Open (or resume) the job's study like hpo.study does and run it to the budget."""
    study, config, space = open_job_study(job, job.method)
    return run_job_study(job, study, make_objective(job.benchmark, config, space), config)


def open_job_study(job: Job, sampler: str):
    """The job's study with `sampler`; the grid is sized to the budget. → (study, config, space)"""
    from hpo.study import open_study, quiet_libraries

    bench = job.benchmark
    config = replace(bench.config, sampler=sampler, seed=job.seed, study_name=job.study_name)
    space = config.load_space()
    grid_info = None
    if sampler == "grid":
        space = budget_grid(space, trials_equivalent(bench.budget, config.max_epochs))
        grid_info = {"points": space.grid_points, "size": space.grid_size()}
    quiet_libraries(config.verbose)
    study = open_study(config, space, job.command, sampler_seed(job.method, job.seed))
    _check_and_tag(study, job, grid_info)
    return study, config, space


def run_job_study(job: Job, study, objective, config: RunConfig) -> str:
    """Run an opened study to the job's budget; one line saying how it went."""
    from hpo.budget import TooManyFailures, counted_trials, grid_exhausted, run_to_budget

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
    from hpo.checkpoints import CheckpointJanitor
    from hpo.objective import checkpoint_root

    CheckpointJanitor(checkpoint_root(config), config.keep_checkpoints)(study)


def run_mirrored(study, objective, budget: Budget, timeout: float | None):
    """run_to_budget on an in-memory twin of `study`, then one write of the new trials.

    A replayed trial costs microseconds, while on an RDB storage the median pruner re-reads
    every trial at every epoch: the round trips, not the replay, would dominate. The twin has
    the study's sampler, pruner and finished trials, so it proposes and prunes exactly as the
    study itself would; the new trials are then added to the study as they finished."""
    import optuna

    from hpo.budget import run_to_budget

    twin = optuna.create_study(
        sampler=study.sampler, pruner=study.pruner, directions=study.directions
    )
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    twin.add_trials(finished)
    try:
        return run_to_budget(twin, objective, budget, timeout)
    finally:
        study.add_trials(twin.get_trials(deepcopy=False)[len(finished) :])


def make_objective(bench: Benchmark, config: RunConfig, space: SearchSpace):
    from hpo.metrics import create_metric

    if bench.objective.startswith("table:"):
        from hpo.replay import TableObjective

        metric = create_metric(config.metric, config.cap)
        path = bench.objective.removeprefix("table:")
        return TableObjective(path, space, metric, config.max_epochs, config.seed)
    from hpo.objective import Objective

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
            "grid": grid_info,
        },
    )


def _best(study) -> str:
    try:
        return f"{study.best_value:.4g}"
    except ValueError:
        return "—"


# ---------------------------------------------------------------- the CLI


def parse_seeds(text: str) -> list[int]:
    """'0-9' → 0…9; '0,3,5' → those; '0-2,7' → 0, 1, 2, 7."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            lo, dash, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if dash else [int(lo)]
    except ValueError:
        raise UsageError(f"--seeds takes '0-9' or '0,3,5', got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise UsageError(f"--seeds must list distinct non-negative seeds, got {text!r}")
    return seeds


def parse_budget(text: str | None, n_trials: int) -> Budget:
    """'epochs:300', 'seconds:600' or 'trials:30'; without --budget, --n-trials trials."""
    if text is None:
        return Budget(n_trials, "trials")
    unit, _, amount = text.partition(":")
    try:
        value = float(amount)
    except ValueError:
        value = -1.0
    if unit not in BUDGET_UNITS or value <= 0:
        raise UsageError(
            f"--budget takes UNIT:AMOUNT with UNIT in {', '.join(BUDGET_UNITS)}, got {text!r}"
        )
    return Budget(value, unit)


def build_parser() -> argparse.ArgumentParser:
    from hpo.study import build_parser as study_parser

    p = ArgumentParser(prog="python -m hpo.compare", description=__doc__.splitlines()[0])
    p.add_argument("--experiment", required=True, help="name prefix of the studies")
    p.add_argument(
        "--samplers",
        "--methods",
        dest="methods",
        default="grid,random,tpe",
        help="comma-separated samplers or registered methods (default %(default)s)",
    )
    p.add_argument("--seeds", default="0-4", help="e.g. 0-9 or 0,3,5 (default %(default)s)")
    p.add_argument(
        "--budget",
        default=None,
        help="per study: epochs:300 (pruned trials count their epochs), seconds:600 "
        "(summed trial wall time) or trials:30; default --n-trials trials",
    )
    p.add_argument(
        "--objective",
        default="train",
        help="train (real fits, default) or table:PATH (replay a table; see hpo.replay)",
    )
    p.add_argument("--workers", type=int, default=1, help="studies run in parallel processes")
    # The study flags, with hpo.study's defaults and help.
    shared = {"--n-trials", "--max-epochs", "--dataset", "--model", "--space", "--metric"}
    shared |= {"--cap", "--pruner", "--pruner-startup", "--pruner-warmup", "--storage"}
    shared |= {"--timeout", "--data-dir", "--verbose"}
    for action in study_parser()._actions:
        if set(action.option_strings) & shared:
            p._add_action(action)
    return p


def benchmark_from_args(args: argparse.Namespace) -> Benchmark:
    values = {k: v for k, v in vars(args).items() if k in RunConfig.__dataclass_fields__}
    config = RunConfig(**values)
    if args.objective != "train" and not args.objective.startswith("table:"):
        raise UsageError(f"--objective takes train or table:PATH, got {args.objective!r}")
    return Benchmark(config, args.objective, parse_budget(args.budget, args.n_trials))


def validate(bench: Benchmark, methods: list[str]) -> None:
    """Everything checkable before a study is opened or a process started."""
    from hpo.study import validate as validate_run

    for name in methods:
        method_runner(name)
    if bench.objective == "train":
        validate_run(bench.config)
        return
    from hpo.metrics import create_metric
    from hpo.replay import check_space, load_table
    from hpo.storage import check_storage_url

    check_storage_url(bench.config.storage)
    create_metric(bench.config.metric, bench.config.cap)
    check_space(
        bench.config.load_space(),
        load_table(bench.objective.removeprefix("table:")),
        bench.config.max_epochs,
    )
    if "grid" in methods and bench.budget.unit == "seconds":
        trials_equivalent(bench.budget, bench.config.max_epochs)


def run_job(job: Job) -> str:
    if job.threads and job.benchmark.objective == "train":
        import torch

        torch.set_num_threads(job.threads)  # N workers × all cores each would oversubscribe
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


@cli_main("hpo.compare")
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    seeds = parse_seeds(args.seeds)
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if len(set(methods)) != len(methods) or not methods:
        raise UsageError(f"--samplers must list distinct names, got {args.methods!r}")
    bench = benchmark_from_args(args)
    validate(bench, methods)
    command = shlex.join(["python", "-m", "hpo.compare", *argv])
    threads = max(1, (os.cpu_count() or 1) // args.workers) if args.workers > 1 else None
    jobs = [
        Job(args.experiment, m, s, bench, command, threads) for m, s in product(methods, seeds)
    ]
    budget = bench.budget
    print(
        f"Experiment {args.experiment!r}: {len(methods)} methods × {len(seeds)} seeds = "
        f"{len(jobs)} studies, {budget.amount:g} {budget.unit} each, objective {bench.objective}"
    )
    start = time.perf_counter()
    failed = run_jobs(jobs, args.workers, print)
    print(
        f"Done in {time.perf_counter() - start:.1f} s. Report: python -m hpo.report "
        f"--storage {shlex.quote(redact(bench.config.storage))} "
        f"--experiment {args.experiment} --out reports/{args.experiment}"
    )
    return EXIT_ABORTED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
