"""How fast the CLI answers what needs no training, as a ratio to `python -c "import optuna"`.

    .venv/bin/python benchmarks/cli_latency.py [--rounds 7]

Each command runs as a user would run it (the venv's `hpo` console script, a fresh process),
interleaved with the reference in every round (reference, A, B, …, reference, A, B, …) so both
see the same machine load; the ratio is median(command) / median(reference). Targets
(ARCHITECTURE.md): ≤1.5× for --help, bad names and --list; ≤3× for "already done", which opens the
storage and reads the study.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "params": {
        "lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
        "optimizer": {"type": "categorical", "choices": ["adam", "momentum"]},
    },
    "fixed": {"batch_size": 64, "width": 1},
}


def hpo_command() -> list[str]:
    script = Path(sys.executable).parent / "hpo"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hpo"]


def seconds(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def commands(work: Path) -> dict[str, list[str]]:
    hpo = hpo_command()
    good = work / "space.yaml"
    good.write_text(yaml.safe_dump(TINY))
    bad = work / "bad.yaml"
    bad_space = yaml.safe_load(yaml.safe_dump(TINY))
    bad_space["params"]["optimizer"]["choices"] = ["adam", "adamm"]
    bad.write_text(yaml.safe_dump(bad_space))
    study = [*hpo, "study", "--space", str(good), "--storage", "sqlite:///done.db"]
    study += ["--n-trials", "1", "--max-epochs", "1", "--quiet"]
    done = subprocess.run(study, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"could not prepare the finished study: {done.stderr}")
    return {
        "--help": [*hpo, "--help"],
        "study --help": [*hpo, "study", "--help"],
        "bad sampler": [*hpo, "study", "--sampler", "tpee"],
        "bad optimizer choice": [*hpo, "study", "--space", str(bad)],
        "--list": [*hpo, "study", "--list"],
        "already done": study,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    reference = [sys.executable, "-c", "import optuna"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = commands(work)
        times: dict[str, list[float]] = {name: [] for name in ["import optuna", *cases]}
        for _ in range(args.rounds):
            for name in times:
                times[name].append(
                    seconds(reference if name == "import optuna" else cases[name], work)
                )
    base = statistics.median(times["import optuna"])
    print(f"{'command':<22} {'median s':>9} {'ratio':>6}   (rounds: {args.rounds})")
    ratios = {}
    for name, values in times.items():
        median = statistics.median(values)
        ratios[name] = median / base
        print(f"{name:<22} {median:9.3f} {ratios[name]:6.2f}")
    shown = " ".join(
        f"{k.replace(' ', '_')}={v:.2f}" for k, v in ratios.items() if k != "import optuna"
    )
    print(f"ratios to import optuna: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
