"""Tune small, reuse big (seed 003): does TPE warm-started from a small network's study beat TPE
from scratch and random search at the big size, at equal cost? Answered on a replay table.

    PYTHONPATH=. python benchmarks/warm_start.py --table hpo/tables/digits_5d.json.gz \
        --space conf/spaces/digits_5d.yaml --small width=1 --big width=4 --seeds 0-19

Per seed: `small`, a TPE study of --small-trials at the small setting (the space with --small's
values fixed, --small-epochs per trial); then three studies at the big setting: `warm` (TPE
whose first trials are the small study's --top best configurations, through hpo's
--warm-start-from), `tpe` and `random` from scratch. Cost is replayed training seconds (each
trial's `wall_seconds`: the time the real fit took when the table was built): `warm` runs
--big-trials trials and is charged the small study too; `tpe` and `random` run at least
--big-trials trials and at least as many seconds, and are read at equal cost (their first
trials up to the one that reaches warm's seconds) and at equal big trials. Printed and written
to --out: each method's median best at equal cost and after --big-trials big trials, one-sided
Mann-Whitney p of warm against each baseline (Holm over the two), and the claim itself: the
best of warm's first --top trials (the transferred configurations) against the best of each
baseline's first --top.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import yaml

from hpo.bench.compare import Benchmark, make_objective, sampler_seed
from hpo.cli.compare import parse_seeds
from hpo.config.run import RunConfig
from hpo.config.space import SearchSpace, load_space
from hpo.search.budget import COUNTED, Budget, run_to_budget
from hpo.search.study import open_study

BASELINES = ("tpe", "random")


def fixed_at(space: SearchSpace, values: dict) -> SearchSpace:
    """The space with `values` fixed (no longer searched)."""
    params = {k: v for k, v in space.params.items() if k not in values}
    return replace(space, params=params, fixed={**space.fixed, **values})


def parse_values(text: str) -> dict:
    """'width=1,dropout=0.2' → {'width': 1, 'dropout': 0.2}."""
    pairs = (item.split("=", 1) for item in text.split(",") if item)
    return {name.strip(): yaml.safe_load(value) for name, value in pairs}


def run(config: RunConfig, space: SearchSpace, table: str, budget: Budget, method: str):
    """One study of the experiment, opened as hpo study opens it, run to `budget`; (study,
    objective)."""
    study = open_study(
        config, space, "benchmarks/warm_start.py", sampler_seed(method, config.seed), say=_mute
    )
    objective = make_objective(Benchmark(config, f"table:{table}", budget), config, space)
    run_to_budget(study, objective, budget)
    return study, objective


def _mute(*_: object) -> None:
    return None


def seconds(study) -> float:
    return sum(float(t.user_attrs.get("wall_seconds", 0)) for t in _counted(study))


def _counted(study) -> list:
    return [t for t in study.get_trials(deepcopy=False) if t.state in COUNTED]


def best_of(study, first: int | None = None) -> float:
    """The best COMPLETE value among the first `first` counted trials (all by default)."""
    trials = _counted(study)[:first]
    values = [t.value for t in trials if t.value is not None]
    return max(values, default=float("nan"))


def one_seed(args, seed: int, storage: str) -> dict[str, float]:
    space = load_space(args.space)
    base = RunConfig(
        space=args.space, pruner=args.pruner, seed=seed, storage=storage, artifacts=False
    )
    small = replace(base, sampler="tpe", max_epochs=args.small_epochs, study_name=f"small/{seed}")
    small_study, _ = run(
        small, fixed_at(space, args.small), args.table, Budget(args.small_trials), "tpe"
    )
    big_space = fixed_at(space, args.big)
    big = replace(base, max_epochs=args.big_epochs)
    warm_config = replace(
        big, sampler="tpe", study_name=f"warm/{seed}", warm_start_from=f"small/{seed}",
        warm_start_top=args.top,
    )  # fmt: skip
    warm, _ = run(warm_config, big_space, args.table, Budget(args.big_trials), "warm")
    cost = seconds(small_study) + seconds(warm)
    out = {
        "cost_seconds": cost,
        "small_seconds": seconds(small_study),
        "warm": best_of(warm),
        "warm@trials": best_of(warm, args.big_trials),
        "warm@top": best_of(warm, args.top),
    }
    for method in BASELINES:
        config = replace(big, sampler=method, study_name=f"{method}/{seed}")
        # At least --big-trials trials (equal big trials), and at least `cost` seconds.
        study, objective = run(config, big_space, args.table, Budget(args.big_trials), method)
        run_to_budget(study, objective, Budget(cost, "seconds"))
        paid = equal_cost_trials(study, cost)
        out[method] = best_of(study, paid)
        out[f"{method}@trials"] = best_of(study, args.big_trials)
        out[f"{method}@top"] = best_of(study, args.top)
        out[f"{method}_trials"] = paid
    return out


def equal_cost_trials(study, cost: float) -> int:
    """How many of the study's first trials it takes to spend `cost` seconds (as a budget in
    seconds stops: the trial that reaches it included)."""
    spent = np.cumsum([float(t.user_attrs.get("wall_seconds", 0)) for t in _counted(study)])
    return min(int(np.searchsorted(spent, cost)) + 1, len(spent))


def compare(rows: list[dict], key: str) -> dict[str, dict[str, float]]:
    """Median, IQR and one-sided Mann-Whitney p (warm better), Holm over the baselines."""
    from scipy.stats import mannwhitneyu

    out = {}
    for method in ("warm", *BASELINES):
        values = np.array([r[method + key] for r in rows])
        q25, median, q75 = np.percentile(values, [25, 50, 75])
        out[method] = {"median": float(median), "q25": float(q25), "q75": float(q75)}
    warm = [r["warm" + key] for r in rows]
    raw = {m: float(mannwhitneyu(warm, [r[m + key] for r in rows], alternative="greater").pvalue)
           for m in BASELINES}  # fmt: skip
    for rank, (method, p) in enumerate(sorted(raw.items(), key=lambda kv: kv[1])):
        out[method]["p_warm_better"] = p
        out[method]["p_holm"] = min(1.0, p * (len(raw) - rank))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", required=True, help="a replay table (hpo/tables/…json.gz)")
    p.add_argument("--space", required=True, help="its space YAML")
    p.add_argument("--small", type=parse_values, default={}, help="e.g. width=1")
    p.add_argument("--big", type=parse_values, default={}, help="e.g. width=4")
    p.add_argument("--small-epochs", type=int, default=15)
    p.add_argument("--big-epochs", type=int, default=15)
    p.add_argument("--small-trials", type=int, default=30)
    p.add_argument("--big-trials", type=int, default=30)
    p.add_argument("--top", type=int, default=5, help="configurations carried over")
    p.add_argument("--pruner", default="median")
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-19"))
    p.add_argument("--out", default=None, help="write results.json here")
    p.add_argument("--storage", default=None, help="keep the studies (default: a temp journal)")
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        storage = args.storage or f"journal:///{Path(tmp) / 'warm_start.log'}"
        rows = [one_seed(args, seed, storage) for seed in args.seeds]
    result = {
        "setup": {k: v for k, v in vars(args).items()},
        "equal_cost": compare(rows, ""),
        "equal_big_trials": compare(rows, "@trials"),
        "transferred_top": compare(rows, "@top"),
        "median_cost_seconds": float(np.median([r["cost_seconds"] for r in rows])),
        "median_small_seconds": float(np.median([r["small_seconds"] for r in rows])),
        "baseline_trials": {
            m: float(np.median([r[f"{m}_trials"] for r in rows])) for m in BASELINES
        },
        "per_seed": rows,
        "wall_seconds": time.perf_counter() - start,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "per_seed"}, indent=1, default=str))
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "results.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
