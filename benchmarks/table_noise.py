"""The ceiling of a surrogate table's fidelity: how well other real runs of the same
configurations agree with the first, and with the table.

    .venv/bin/python benchmarks/table_noise.py --table hpo/tables/digits_5d.json.gz \
        --space conf/spaces/digits_5d.yaml --fits /tmp/table-noise [--seeds 1,2,3] [--workers 2]

Takes the fits the table's packing held out (its meta's fraction and seed), trains each again
for real through `hpo replay sample`'s fit path once per seed of `--seeds` (weights, data split
and batch order all change), `--workers` processes, resumable in `--fits`/seed-K; then prints
the Spearman rank correlation of the final val_acc between the real runs (the table's own seed
and each of `--seeds`) and the table's model fitted without them (the published held-out
fidelity), over all fits and over those that learned (first run ≥ 2× chance).

The ceiling it prints is classical test theory's (for a Pearson correlation; Spearman's is
close): if two real runs agree at r, an exact predictor of a configuration's expected result
agrees with one run at √r, and with the mean of m runs at √(m·r / (1 + (m − 1)·r)) (the
Spearman–Brown reliability of an m-run mean). Dividing the table's agreement with the mean of
m runs by that ceiling estimates its agreement with the expected result itself (Spearman's
correction for attenuation).
"""

from __future__ import annotations

import argparse
import math
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from hpo.bench.design import corners
from hpo.bench.fidelity import VAL_ACC, holdout
from hpo.bench.fit_log import read_fits, run_shard
from hpo.bench.replay import COLUMNS
from hpo.bench.surrogate import SurrogateTable, load_surrogate
from hpo.config.run import RunConfig


def held_out(table: SurrogateTable) -> tuple[list[dict], list[dict]]:
    """(kept, held out) exactly as the table's packing split its fits."""
    fidelity = table.meta["fidelity"]
    first = len(corners(table.space))
    return holdout(table.fits, float(fidelity["fraction"]), int(fidelity["seed"]), first)


def refit(configs: list[dict], folder: Path, config: RunConfig, workers: int) -> None:
    """Train every configuration again, `workers` processes (done ones are skipped)."""
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        jobs = [
            pool.submit(run_shard, configs, folder, config, shard, workers)
            for shard in range(workers)
        ]
        for job in jobs:
            job.result()


def final_acc(vectors: np.ndarray, max_epochs: int) -> np.ndarray:
    return vectors.reshape(len(vectors), max_epochs, len(COLUMNS))[:, -1, VAL_ACC]


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(a, b).statistic)


def ceiling(r: float, runs: int) -> float:
    """An exact predictor's expected agreement with the mean of `runs` runs agreeing at `r`."""
    reliability = runs * r / (1 + (runs - 1) * r)
    return math.sqrt(max(reliability, 0.0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="hpo/tables/digits_5d.json.gz")
    parser.add_argument("--space", default="conf/spaces/digits_5d.yaml")
    parser.add_argument("--fits", required=True, help="folder for the other runs' fits")
    parser.add_argument("--seeds", default="1", help="the other runs' seeds, e.g. 1,2,3")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    table = load_surrogate(args.table)
    kept, held = held_out(table)
    seeds = [int(s) for s in args.seeds.split(",")]
    again = []
    for seed in seeds:
        config = RunConfig(
            dataset=table.meta["dataset"],
            model=table.meta["model_name"],
            max_epochs=table.max_epochs,
            seed=seed,
            threads=1,
            space=args.space,
        )
        folder = Path(args.fits) / f"seed-{seed}"
        refit([f["params"] for f in held], folder, config, args.workers)
        again.append({int(f["index"]): f for f in read_fits(folder)})
    both = [
        i
        for i in range(len(held))
        if all(i in run and not run[i]["stop"].startswith("fail") for run in again)
    ]
    model = SurrogateTable(table.space, kept, table.meta)
    pairs = [held[i] for i in both]
    runs = [final_acc(model.targets(pairs), table.max_epochs)]
    runs += [final_acc(model.targets([run[i] for i in both]), table.max_epochs) for run in again]
    predicted = final_acc(model.model.predict(model.inputs(pairs)), table.max_epochs)
    learned = runs[0] >= 2.0 / table.num_classes
    print(
        f"{len(both)} held-out configurations trained {len(runs)} times (seeds "
        f"{table.meta['seed']}, {args.seeds}); {int(learned.sum())} learned in the first run; "
        f"table model {table.model_name}"
    )

    def row(name: str, pairs_: list[tuple[np.ndarray, np.ndarray]]) -> None:
        every = np.mean([_rho(a, b) for a, b in pairs_])
        some = np.mean([_rho(a[learned], b[learned]) for a, b in pairs_])
        print(f"{name:44} {every:6.3f} {some:8.3f}")

    mean = np.mean(runs, axis=0)
    print(f"{'final val_acc, Spearman (mean over pairs)':44} {'all':>6} {'learned':>8}")
    row("real run vs real run (test-retest)", list(combinations(runs, 2)))
    row("table vs the first run (published)", [(predicted, runs[0])])
    row("table vs one real run", [(predicted, run) for run in runs])
    row(f"table vs the mean of all {len(runs)} runs", [(predicted, mean)])
    others = [np.mean(runs[:k] + runs[k + 1 :], axis=0) for k in range(len(runs))]
    if len(runs) > 2:
        row(
            f"one run vs the mean of the other {len(runs) - 1}",
            list(zip(runs, others, strict=True)),
        )
    retest = np.mean([_rho(a, b) for a, b in combinations(runs, 2)])
    print(
        f"ceiling (an exact predictor of the expected result): {ceiling(retest, 1):.3f} "
        f"against one run, {ceiling(retest, len(runs)):.3f} against the mean of {len(runs)}"
    )
    print(
        "table vs the expected result (its agreement with the mean, corrected for the mean's "
        f"own noise): {_rho(predicted, mean) / ceiling(retest, len(runs)):.3f}"
    )
    spread = np.mean([np.mean(np.abs(a - b)) for a, b in combinations(runs, 2)])
    print(
        f"mean |run − run| = {spread:.4f}, "
        f"mean |table − run| = {np.mean([np.mean(np.abs(predicted - r)) for r in runs]):.4f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
