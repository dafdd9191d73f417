"""The sampler's own cost per trial as a study grows (TPE, GP; random as the floor).

    python benchmarks/sampler_cost.py                       # 100, 500, 1000 trials
    python benchmarks/sampler_cost.py --sizes 100 500 --samplers tpe

For each size N, a study in memory is filled with N finished trials of the default space
(conf/spaces/default.yaml; values from a smooth synthetic objective, so no training runs), then
the next few trials are asked for: the median seconds of `ask()` + the space's suggestions is the
sampler's cost per trial at that study size, to compare with a trial's training time.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna  # noqa: E402

from hpo.config.run import RunConfig  # noqa: E402
from hpo.search.samplers import create_sampler  # noqa: E402

ASKS = 5


def synthetic_value(params: dict) -> float:
    """A smooth accuracy-like surface over the default space (best near lr 1e-2, adam)."""
    lr_term = -((math.log10(params["lr"]) + 2.0) ** 2) / 4
    return 0.9 + 0.05 * lr_term - 0.1 * params["dropout"] + 0.02 * (params["optimizer"] == "adam")


def filled_study(sampler_name: str, n: int):
    space = RunConfig().load_space()
    study = optuna.create_study(
        direction="maximize", sampler=create_sampler(sampler_name, space, seed=0)
    )
    filler = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(1))
    for _ in range(n):
        trial = filler.ask()
        params = space.suggest(trial)
        filler.tell(trial, synthetic_value(params))
    study.add_trials(filler.get_trials(deepcopy=False))
    return study, space


def cost_per_trial(sampler_name: str, n: int) -> float:
    study, space = filled_study(sampler_name, n)
    times = []
    for _ in range(ASKS):
        start = time.perf_counter()
        trial = study.ask()
        params = space.suggest(trial)
        times.append(time.perf_counter() - start)
        study.tell(trial, synthetic_value(params))
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    p.add_argument("--samplers", nargs="+", default=["random", "tpe", "gp"])
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"seconds per trial spent in the sampler (median of {ASKS} asks), by study size")
    print(f"{'sampler':<8s}" + "".join(f"{n:>10d}" for n in args.sizes))
    for name in args.samplers:
        row = [cost_per_trial(name, n) for n in args.sizes]
        print(f"{name:<8s}" + "".join(f"{t:10.4f}" for t in row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
