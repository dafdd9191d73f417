"""Storage overhead per trial, worker scaling, and a many-worker stress run, per storage.

    python benchmarks/storage.py                       # all three parts, every storage found
    python benchmarks/storage.py --part overhead --trials 1000
    python benchmarks/storage.py --part scaling --sleep 0.5 --per-worker 12
    python benchmarks/storage.py --part stress --stress-workers 4 --stress-trials 200

overhead: 1000 trials of a trivial objective in one process through hpo's loop
    (`run_to_budget`: study lock, stale sweep, heartbeats) on each storage, minus the same loop
    on Optuna's in-memory storage: ms of storage work per trial; beside plain Optuna's
    `optimize()` on the same storage, interleaved in 5 rounds (median ratio).
scaling: N = 1..4 worker processes, a sleep objective, N × per-worker trials; throughput is
    trials / (last completion - first start) from the storage's own timestamps (process start-up
    excluded); efficiency = throughput(N) / (N · throughput(1)).
stress: 4 workers × 200 trials of a near-zero objective; counts trials that failed and any
    error a worker printed (target: 0), checks the total is exact.
PostgreSQL (127.0.0.1:5432, database created and dropped here) and Redis (127.0.0.1:6379, a key
prefix of its own) are used when reachable.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from hpo.persist.storages import (  # noqa: E402
    Liveness,
    journal_backend,
    open_storage,
    sqlalchemy_url,
)
from hpo.search.budget import Budget, run_to_budget  # noqa: E402

LIVENESS = Liveness()  # hpo's defaults: heartbeat every 15 s, grace 60 s


def trivial(seconds: float):
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        if seconds:
            time.sleep(seconds)
        return x

    return objective


def new_study(storage, name: str, seed: int = 0) -> optuna.Study:
    return optuna.create_study(
        storage=storage,
        study_name=name,
        sampler=optuna.samplers.RandomSampler(seed=seed),
        load_if_exists=True,
    )


@contextlib.contextmanager
def storages(tmp: Path) -> Iterator[dict[str, str]]:
    urls = {"sqlite": f"sqlite:///{tmp / 'b.db'}", "journal": f"journal:///{tmp / 'b.log'}"}
    stack = contextlib.ExitStack()
    with stack:
        try:
            import psycopg

            db = f"hpo_bench_{uuid.uuid4().hex[:8]}"
            admin = psycopg.connect(
                host="127.0.0.1", user="root", dbname="postgres", autocommit=True
            )
            admin.execute(f'CREATE DATABASE "{db}"')
            stack.callback(admin.close)
            stack.callback(admin.execute, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            urls["postgresql"] = f"postgresql://root@127.0.0.1:5432/{db}"
        except Exception as exc:
            print(f"(PostgreSQL skipped: {exc})")
        try:
            import redis

            client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
            client.ping()
            prefix = f"hpo-bench-{uuid.uuid4().hex[:8]}"

            def cleanup() -> None:
                keys = list(client.scan_iter(f"{prefix}*"))
                if keys:
                    client.delete(*keys)

            stack.callback(cleanup)
            urls["redis"] = f"redis://127.0.0.1:6379/0?prefix={prefix}"
        except Exception as exc:
            print(f"(Redis skipped: {exc})")
        yield urls


def timed_loop(storage, n: int) -> float:
    study = new_study(storage, f"overhead-{uuid.uuid4().hex[:6]}")
    start = time.perf_counter()
    run_to_budget(study, trivial(0.0), Budget(n))
    return time.perf_counter() - start


def plain_optuna(url: str, n: int) -> float:
    """The same trials through Optuna alone: its default storage for the URL, one
    `optimize(n_trials=n)` call, no heartbeat, no lock."""
    if url.startswith(("sqlite", "postgresql")):
        storage = optuna.storages.RDBStorage(sqlalchemy_url(url))
    else:
        storage = optuna.storages.JournalStorage(journal_backend(url))
    study = new_study(storage, f"plain-{uuid.uuid4().hex[:6]}")
    start = time.perf_counter()
    study.optimize(trivial(0.0), n_trials=n)
    return time.perf_counter() - start


def overhead(urls: dict[str, str], n: int, rounds: int = 5) -> None:
    """hpo's loop and plain Optuna, interleaved: `rounds` rounds of n/rounds trials each, a new
    study per round on both sides (a storage server's own pace drifts within a minute)."""
    per_round = max(1, n // rounds)
    base = timed_loop(optuna.storages.InMemoryStorage(), per_round)
    print(
        f"\n## Storage overhead per trial ({rounds} interleaved rounds of {per_round} trials, "
        "trivial objective, one process)"
    )
    print(f"in-memory baseline (hpo loop): {1000 * base / per_round:.2f} ms/trial")
    print(
        "| storage | hpo ms/trial | overhead ms/trial | plain Optuna ms/trial | hpo/Optuna "
        "(median of rounds) | rounds |"
    )
    print("|---|---|---|---|---|---|")
    for name, url in urls.items():
        hpo, plain = [], []
        for _ in range(rounds):
            hpo.append(timed_loop(open_storage(url, LIVENESS), per_round))
            plain.append(plain_optuna(url.replace(".db", "-plain.db"), per_round))
        ratios = [a / b for a, b in zip(hpo, plain, strict=True)]
        seconds, plain_seconds = statistics.median(hpo), statistics.median(plain)
        print(
            f"| {name} | {1000 * seconds / per_round:.2f} | "
            f"{1000 * (seconds - base) / per_round:.2f} | {1000 * plain_seconds / per_round:.2f} "
            f"| {statistics.median(ratios):.2f} | {', '.join(f'{r:.2f}' for r in ratios)} |"
        )


def start_workers(url: str, study: str, n: int, budget: int, sleep: float) -> list:
    command = [sys.executable, __file__, "--worker", url, study, str(budget), str(sleep)]
    return [
        subprocess.Popen(
            [*command, str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for seed in range(n)
    ]


def finish(procs: list) -> list[str]:
    errors = []
    for proc in procs:
        _out, err = proc.communicate()
        if proc.returncode != 0 or "Error" in err or "locked" in err:
            errors.append(
                err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}"
            )
    return errors


def throughput(study: optuna.Study) -> float:
    trials = [t for t in study.trials if t.state == TrialState.COMPLETE]
    span = max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)
    return len(trials) / span.total_seconds()


def scaling(urls: dict[str, str], per_worker: int, sleep: float, max_workers: int) -> None:
    print(f"\n## Worker scaling (sleep objective {sleep} s, {per_worker} trials per worker)")
    print("| storage | " + " | ".join(f"N={n} trials/s (eff.)" for n in range(1, max_workers + 1)))
    print("|---" * (max_workers + 1) + "|")
    for name, url in urls.items():
        cells, single = [], None
        for n in range(1, max_workers + 1):
            study_name = f"scaling-{n}-{uuid.uuid4().hex[:6]}"
            errors = finish(start_workers(url, study_name, n, per_worker * n, sleep))
            study = optuna.load_study(study_name=study_name, storage=open_storage(url))
            rate = throughput(study)
            single = single or rate
            cells.append(f"{rate:.2f} ({rate / (n * single):.2f})" + (" ERR" if errors else ""))
        print(f"| {name} | " + " | ".join(cells) + " |")


def stress(urls: dict[str, str], workers: int, per_worker: int) -> None:
    total = workers * per_worker
    print(f"\n## Stress: {workers} workers × {per_worker} trials (objective sleeps 10 ms)")
    print("| storage | complete | failed | running left | worker errors | wall s |")
    print("|---|---|---|---|---|---|")
    for name, url in urls.items():
        study_name = f"stress-{uuid.uuid4().hex[:6]}"
        start = time.perf_counter()
        errors = finish(start_workers(url, study_name, workers, total, 0.01))
        wall = time.perf_counter() - start
        trials = optuna.load_study(study_name=study_name, storage=open_storage(url)).trials
        count = {s: sum(t.state == s for t in trials) for s in TrialState}
        print(
            f"| {name} | {count[TrialState.COMPLETE]}/{total} | {count[TrialState.FAIL]} | "
            f"{count[TrialState.RUNNING]} | {len(errors)} {errors[:1]} | {wall:.0f} |"
        )


def worker(url: str, study_name: str, budget: int, sleep: float, seed: int) -> int:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = new_study(open_storage(url, LIVENESS), study_name, seed)
    run_to_budget(study, trivial(sleep), Budget(budget))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["overhead", "scaling", "stress", "all"], default="all")
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--sleep", type=float, default=0.5)
    p.add_argument("--per-worker", type=int, default=12)
    p.add_argument("--max-workers", type=int, default=4)
    p.add_argument("--stress-workers", type=int, default=4)
    p.add_argument("--stress-trials", type=int, default=200)
    p.add_argument("--only", nargs="*", help="storages to run (sqlite journal postgresql redis)")
    p.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        url, name, budget, sleep, seed = args.worker
        return worker(url, name, int(budget), float(sleep), int(seed))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp, storages(Path(tmp)) as urls:
        if args.only:
            urls = {k: v for k, v in urls.items() if k in args.only}
        if args.part in ("overhead", "all"):
            overhead(urls, args.trials)
        if args.part in ("scaling", "all"):
            scaling(urls, args.per_worker, args.sleep, args.max_workers)
        if args.part in ("stress", "all"):
            stress(urls, args.stress_workers, args.stress_trials)
    return 0


if __name__ == "__main__":
    sys.exit(main())
