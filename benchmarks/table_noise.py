"""The ceiling of a surrogate table's fidelity: how well a second real run of the same
configurations agrees with the first.

    .venv/bin/python benchmarks/table_noise.py --table hpo/tables/digits_5d.json.gz \
        --space conf/spaces/digits_5d.yaml --fits /tmp/table-noise [--seed 1] [--workers 2]

Takes the fits the table's packing held out (its meta's fraction and seed), trains each again
for real through `hpo replay sample`'s fit path with another `--seed` (weights, data split and
batch order all change), `--workers` processes, resumable in `--fits`; then prints the Spearman
rank correlation of the final val_acc between the first real run, the second, and the table's
model fitted without them (the published held-out fidelity), over all fits and over those that
learned (first run ≥ 2× chance). No surrogate can be expected to agree with one real run much
better than another real run does.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
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
    fits = [dict(f, index=i) for i, f in enumerate(table.fits)]
    first = len(corners(table.space))
    return holdout(fits, float(fidelity["fraction"]), int(fidelity["seed"]), first)


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="hpo/tables/digits_5d.json.gz")
    parser.add_argument("--space", default="conf/spaces/digits_5d.yaml")
    parser.add_argument("--fits", required=True, help="folder for the second run's fits")
    parser.add_argument("--seed", type=int, default=1, help="the second run's seed")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    table = load_surrogate(args.table)
    kept, held = held_out(table)
    configs = [f["params"] for f in held]
    config = RunConfig(
        dataset=table.meta["dataset"],
        model=table.meta["model_name"],
        max_epochs=table.max_epochs,
        seed=args.seed,
        threads=1,
        space=args.space,
    )
    folder = Path(args.fits)
    refit(configs, folder, config, args.workers)
    again = {int(f["index"]): f for f in read_fits(folder)}
    both = [i for i in range(len(held)) if i in again and not again[i]["stop"].startswith("fail")]

    model = SurrogateTable(table.space, kept, table.meta)
    pairs = [held[i] for i in both]
    first = final_acc(model.targets(pairs), table.max_epochs)
    second = final_acc(model.targets([again[i] for i in both]), table.max_epochs)
    predicted = final_acc(model.model.predict(model.inputs(pairs)), table.max_epochs)
    learned = first >= 2.0 / table.num_classes
    print(
        f"{len(both)} held-out configurations trained twice (seeds {table.meta['seed']}, "
        f"{args.seed}); {int(learned.sum())} learned in the first run"
    )
    print(f"{'final val_acc, Spearman':38} {'all':>6} {'learned':>8}")
    for name, a, b in (
        ("real run 1 vs real run 2 (test-retest)", first, second),
        ("table vs real run 1 (published)", predicted, first),
        ("table vs real run 2", predicted, second),
        ("table vs mean of both runs", predicted, (first + second) / 2),
    ):
        print(f"{name:38} {_rho(a, b):6.3f} {_rho(a[learned], b[learned]):8.3f}")
    print(
        f"mean |run 1 − run 2| = {np.mean(np.abs(first - second)):.4f}, "
        f"mean |table − run 1| = {np.mean(np.abs(predicted - first)):.4f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
