"""A worker process for storage tests: run_to_budget with a sleep objective, no training.

python -m hpo.testing.budget_worker URL STUDY BUDGET SLEEP_S [SEED]
python -m hpo.testing.budget_worker URL STUDY --claim-and-die  # claim a trial, SIGKILL itself
"""

from __future__ import annotations

import os
import signal
import sys
import time

import optuna

from hpo.persist.liveness import ask_and_claim
from hpo.persist.storages import Liveness, open_storage
from hpo.search.budget import Budget, run_to_budget

LIVENESS = Liveness(heartbeat_interval=1, grace_period=3, max_retry=3)


def open_study(url: str, name: str, seed: int = 0) -> optuna.Study:
    return optuna.create_study(
        storage=open_storage(url, LIVENESS),
        study_name=name,
        sampler=optuna.samplers.RandomSampler(seed=seed),
        load_if_exists=True,
    )


def sleep_objective(seconds: float):
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(seconds)
        return x

    return objective


def main(argv: list[str]) -> int:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, name = argv[0], argv[1]
    if argv[2] == "--claim-and-die":
        study = open_study(url, name)
        trial = ask_and_claim(study)
        trial.suggest_float("x", 0.0, 1.0)
        os.kill(os.getpid(), signal.SIGKILL)
    budget, seconds = int(argv[2]), float(argv[3])
    study = open_study(url, name, seed=int(argv[4]) if len(argv) > 4 else os.getpid())
    outcome = run_to_budget(study, sleep_objective(seconds), Budget(budget))
    print(f"ran {outcome.ran} waited {outcome.waited:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
