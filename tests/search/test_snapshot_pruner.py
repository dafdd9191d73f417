"""SnapshotPruner: with one worker its decisions are exactly the wrapped pruner's; with
trials finishing meanwhile, it judges only against the snapshot."""

from __future__ import annotations

import math

import optuna
import pytest

from hpo.search.pruners import PrunerSettings, create_pruner
from hpo.search.snapshot_pruner import SnapshotPruner, judge_against_finished


def curve_objective(trial: optuna.Trial) -> float:
    """A learning curve whose level depends on x, reported for 9 steps (pruned: stops)."""
    x = trial.suggest_float("x", 0.0, 1.0)
    value = 0.0
    for step in range(9):
        value = x * (1 - math.exp(-(step + 1) / 3)) + 0.01 * math.sin(step * x * 7)
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def decisions(
    pruner_name: str, snapshot: bool, sampler: optuna.samplers.BaseSampler | None = None
) -> list[tuple[str, int]]:
    pruner = create_pruner(pruner_name, PrunerSettings(3, 1, 9))
    study = optuna.create_study(
        study_name="s", direction="maximize",
        sampler=sampler or optuna.samplers.RandomSampler(seed=1), pruner=pruner,
    )  # fmt: skip
    for _ in range(40):
        if snapshot:
            judge_against_finished(study)
        study.optimize(curve_objective, n_trials=1)
    return [(t.state.name, len(t.intermediate_values)) for t in study.trials]


@pytest.mark.parametrize("name", ["median", "percentile", "asha", "hyperband"])
def test_with_one_worker_the_decisions_are_the_wrapped_pruners(name: str) -> None:
    live, snap = decisions(name, False), decisions(name, True)
    assert snap == live
    assert any(state == "PRUNED" for state, _ in live)  # the comparison is not vacuous


def test_trials_finished_after_the_snapshot_are_not_seen() -> None:
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(1, 0))
    high = study.ask()
    snapshot_before = SnapshotPruner(study.pruner, study.get_trials())  # nothing finished yet
    low = study.ask()
    for step in range(3):
        high.report(0.9, step)
    study.tell(high, 0.9)
    low.report(0.1, 0)
    frozen = study.trials[low.number]
    assert study.pruner.prune(study, frozen)  # the live pruner sees the better finished trial
    assert not snapshot_before.prune(study, frozen)  # the snapshot does not


def test_the_trials_the_sampler_read_are_the_snapshot() -> None:
    """TPE reads the study's trials to sample a trial; the pruner judges against that read (no
    storage read of its own) and decides as the live pruner does."""
    tpe = {"seed": 1, "n_startup_trials": 5}
    live = decisions("median", False, optuna.samplers.TPESampler(**tpe))
    assert decisions("median", True, optuna.samplers.TPESampler(**tpe)) == live
    assert any(state == "PRUNED" for state, _ in live)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(**tpe))
    study.optimize(curve_objective, n_trials=6)
    judge_against_finished(study)
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)  # TPE reads the trials here
    storage, reads = study._storage, []
    read = storage.get_all_trials
    storage.get_all_trials = lambda *a, **k: reads.append(1) or read(*a, **k)  # type: ignore
    trial.report(0.5, 0)
    trial.should_prune()
    assert reads == []  # (the pruner's in-memory view has a storage of its own)
