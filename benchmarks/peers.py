"""hpo's default study beside the script a user would write instead, on the identical trials.

    .venv/bin/python benchmarks/peers.py [--rounds 3] [--n-trials 30] [--seeds 0,1,2]

Each round runs, in fresh directories and storages, interleaved so all see the same machine:
(a) `benchmarks/peers/plain_optuna_lightning.py`: Optuna + Lightning + optuna-integration's
    pruning callback + SQLite, the pattern of Optuna's own Lightning example, one torch thread;
(b) `hpo study --workers 1`: the same trials (same seed ⇒ same parameters, pruning decisions,
    epochs and values; checked every round) with everything hpo adds around them;
(c) `hpo study` as `make study` runs it (`--workers auto`: both cores).
Wall time of each whole command, start-up included. Prints per-round times and the median ratios
`ratio hpo/plain=(b)/(a)` and `ratio auto/one=(c)/(b)`; targets ≤ 1.0 and ≤ 0.70.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ROOT / "benchmarks" / "peers" / "plain_optuna_lightning.py"


def hpo_command() -> list[str]:
    script = Path(sys.executable).parent / "hpo"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hpo"]


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def trials(url: str) -> list[tuple]:
    """The trials of the one study in `url`."""
    (name,) = optuna.get_all_study_names(url)
    study = optuna.load_study(study_name=name, storage=url)
    return [(t.params, t.state.name, len(t.intermediate_values), t.value) for t in study.trials]


def one_round(work: Path, n_trials: int, seed: int) -> dict[str, float]:
    seeded = ["--n-trials", str(n_trials), "--seed", str(seed)]
    hpo = [*hpo_command(), "study", *seeded, "--quiet"]
    plain = [sys.executable, str(PLAIN), *seeded, "--threads", "1"]
    seconds = {
        "plain": timed([*plain, "--storage", "sqlite:///plain.db"], work),
        "hpo --workers 1": timed([*hpo, "--workers", "1", "--storage", "sqlite:///one.db"], work),
        "hpo (auto)": timed([*hpo, "--storage", "sqlite:///auto.db"], work),
    }
    same = trials(f"sqlite:///{work / 'plain.db'}") == trials(f"sqlite:///{work / 'one.db'}")
    auto = trials(f"sqlite:///{work / 'auto.db'}")
    one = trials(f"sqlite:///{work / 'one.db'}")
    return {
        **seconds,
        "identical trials (plain, one)": same,
        "best val_acc (auto)": max(t[3] for t in auto if t[3] is not None),
        "epochs trained (one, auto)": (sum(t[2] for t in one), sum(t[2] for t in auto)),
    }


def _rounded(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n-trials", type=int, default=30)
    parser.add_argument(
        "--seeds",
        default="0",
        help="comma-separated seeds, used in turn by the rounds (default 0: the default study)",
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rounds = []
    seeds = [int(seed) for seed in args.seeds.split(",")]
    for index in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            rounds.append(one_round(Path(tmp), args.n_trials, seeds[index % len(seeds)]))
        figures = json.dumps({k: _rounded(v) for k, v in rounds[-1].items()})
        print(f"round {index + 1} (seed {seeds[index % len(seeds)]}): {figures}")
        sys.stdout.flush()
    # hpo/plain counts only rounds whose trials were identical (same parameters, pruning
    # decisions, epochs and values); a float tie can part them on some seeds.
    same = [r for r in rounds if r["identical trials (plain, one)"]]
    ratio_plain = [r["hpo --workers 1"] / r["plain"] for r in same]
    ratio_auto = [r["hpo (auto)"] / r["hpo --workers 1"] for r in rounds]
    print(f"identical trials (plain vs hpo --workers 1): {len(same)} of {len(rounds)} rounds")
    if ratio_plain:
        print(
            f"ratio hpo/plain={statistics.median(ratio_plain):.2f} "
            f"(identical rounds: {', '.join(f'{r:.2f}' for r in ratio_plain)})"
        )
    print(
        f"ratio auto/one={statistics.median(ratio_auto):.2f} "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratio_auto)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
