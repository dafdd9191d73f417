"""Compare search methods fairly: same space, same budget, several seeds, one storage.

    hpo compare --samplers grid,random,tpe --n-trials 30 --seeds 0-9 --experiment cmp
    hpo compare --budget epochs:300 --seeds 0-4 --experiment cmp-epochs
    hpo compare --objective table:hpo/tables/digits_mnist_cnn.json.gz \\
        --space conf/spaces/replay.yaml --n-trials 50 --seeds 0-9 --experiment replay
    hpo report --experiment cmp --out reports/cmp        # then read the results

Each (method, seed) is its own study `<experiment>/<method>/seed<k>` in one storage; a rerun
skips finished studies and continues partial ones. This command only runs; `hpo report` reads.
"""

from __future__ import annotations

import argparse
import shlex
import time
from itertools import product

from hpo.cli.common import EXIT_ABORTED, ArgumentParser, first_line
from hpo.cli.flags import SHARED_FLAGS, add_flags
from hpo.config.names import check_name
from hpo.config.run import available_cores, parse_workers, run_config
from hpo.errors import UsageError
from hpo.persist.urls import redact

BUDGET_UNITS = ("trials", "epochs", "seconds")
TRAIN_SEEDS = "0-4"  # real fits cost minutes each
REPLAY_SEEDS = "0-19"  # replays cost milliseconds: enough seeds to tell methods apart


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


def parse_budget(text: str | None, n_trials: int):  # -> hpo.search.budget.Budget
    """'epochs:300', 'seconds:600' or 'trials:30'; without --budget, --n-trials trials."""
    from hpo.search.budget import Budget

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


def build_parser(prog: str) -> argparse.ArgumentParser:
    p = ArgumentParser(prog=prog, description=first_line(__doc__))
    p.add_argument("--experiment", required=True, help="name prefix of the studies")
    p.add_argument(
        "--samplers",
        "--methods",
        dest="methods",
        default="grid,random,tpe",
        help="comma-separated samplers or registered methods (default %(default)s)",
    )
    p.add_argument(
        "--seeds",
        default=None,
        help=f"e.g. 0-9 or 0,3,5 (default {TRAIN_SEEDS} for real fits, {REPLAY_SEEDS} on a table)",
    )
    p.add_argument(
        "--budget",
        default=None,
        help="per study: epochs:300 (pruned trials count their epochs), seconds:600 "
        "(summed trial wall time) or trials:30; default --n-trials trials",
    )
    p.add_argument(
        "--objective",
        default="train",
        help="train (real fits, default) or table:PATH (replay a table; see hpo replay)",
    )
    p.add_argument(
        "--workers",
        default="auto",
        help="studies run at once in processes of their own: a number or auto (one per core, "
        "at most one per study; default)",
    )
    add_flags(p, SHARED_FLAGS)
    return p


def main(argv: list[str], prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    check_name("--experiment", args.experiment)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    default_seeds = TRAIN_SEEDS if args.objective == "train" else REPLAY_SEEDS
    seeds = parse_seeds(args.seeds or default_seeds)
    workers = parse_workers(args.workers) or min(available_cores(), len(methods) * len(seeds))
    if len(set(methods)) != len(methods) or not methods:
        raise UsageError(f"--samplers must list distinct names, got {args.methods!r}")
    if args.objective != "train" and not args.objective.startswith("table:"):
        raise UsageError(f"--objective takes train or table:PATH, got {args.objective!r}")
    from hpo.bench.compare import Benchmark, Job, run_jobs, validate

    bench = Benchmark(
        run_config(vars(args)), args.objective, parse_budget(args.budget, args.n_trials)
    )
    validate(bench, methods)
    command = redact(shlex.join([*shlex.split(prog), *argv]))  # stored on every study
    threads = max(1, available_cores() // workers) if workers > 1 else None
    jobs = [
        Job(args.experiment, m, s, bench, command, threads) for m, s in product(methods, seeds)
    ]
    budget = bench.budget
    print(
        f"Experiment {args.experiment!r}: {_count(len(methods), 'method')} × "
        f"{_count(len(seeds), 'seed')} = "
        f"{len(jobs)} studies, {budget.amount:g} {budget.unit} each, objective {bench.objective}"
    )
    start = time.perf_counter()
    failed = run_jobs(jobs, workers, print)
    print(f"Done in {time.perf_counter() - start:.1f} s. Report: {report_command(args)}")
    return EXIT_ABORTED if failed else 0


def report_command(args: argparse.Namespace) -> str:
    """`hpo report` for this comparison, as pasted into this shell (no password in it)."""
    from hpo.persist.commands import hpo_words
    from hpo.persist.urls import default_storage

    storage = (
        [] if args.storage == default_storage() else ["--storage", redact(args.storage, None)]
    )
    return shlex.join(hpo_words("report", *storage, "--experiment", args.experiment))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
