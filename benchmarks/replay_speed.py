"""Replay benchmark speed: 3 samplers × 10 seeds × 50 trials from the shipped table, and the
cost per trial side by side with real training of the same space.

    PYTHONPATH=. python benchmarks/replay_speed.py [--workers 2] [--real-trials 3]

Prints the wall time of the whole replay comparison (target: < 60 s on 2 cores) and the ratio
of a real trial's time to a replayed trial's time, both measured in this run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hpo.bench.replay import load_table
from hpo.compare import main as compare
from hpo.config.run import PROJECT_ROOT

TABLE = PROJECT_ROOT / "hpo/tables/digits_mnist_cnn.json.gz"
SPACE = PROJECT_ROOT / "conf/spaces/replay.yaml"


def timed_compare(storage: str, experiment: str, *extra: str) -> float:
    args = ["--experiment", experiment, "--space", str(SPACE), "--storage", storage]
    args += ["--max-epochs", "20", *extra]
    start = time.perf_counter()
    assert compare(args) == 0
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--workers", default="2")
    p.add_argument("--real-trials", type=int, default=3)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        replay = timed_compare(
            f"journal:///{Path(tmp) / 'replay.log'}", "speed", "--objective", f"table:{TABLE}",
            "--samplers", "grid,random,tpe", "--seeds", "0-9", "--n-trials", "50",
            "--workers", a.workers,
        )  # fmt: skip
        real = timed_compare(
            f"sqlite:///{Path(tmp) / 'real.db'}", "real", "--samplers", "random", "--seeds", "0",
            "--n-trials", str(a.real_trials), "--pruner", "none",
        )  # fmt: skip
    per_replay, per_real = replay / 1500, real / a.real_trials
    table = load_table(str(TABLE))
    built = [r[-1]["elapsed_s"] for o in table.curves.values() for p in o for r in p if r]
    print(f"the table's own fits took {sum(built) / len(built):.1f} s per trial when built")
    print(
        f"replay: 3 samplers × 10 seeds × 50 trials in {replay:.1f} s "
        f"(--workers {a.workers}; {per_replay * 1000:.1f} ms per trial)"
    )
    print(
        f"real training, same space, 20 epochs: {per_real:.2f} s per trial "
        f"(includes start-up); a replayed trial is {per_real / per_replay:.0f}× cheaper"
    )


if __name__ == "__main__":
    main()
