"""One asked trial, trained and told: what `study.optimize` does for a trial, for trials this
package asks itself (under the budget lock, or in worker processes).

    frozen = run_asked_trial(study, trial, objective, trials_read_when_asked)
    value, state = train_asked_trial(study, trial, objective, snapshot)  # told by the caller

Optuna's optimize() cannot run a trial it did not ask, and asks outside our lock; it also
re-checks stale trials before every trial, which our loop does once per claim. So this is ours:
heartbeat while it runs (Optuna's thread), the pruner judging against the trials read when the
trial was claimed (SnapshotPruner: no storage read per epoch), the end told as optimize tells
it — COMPLETE with its value, PRUNED, or FAIL (the objective records why in `stop_reason`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.persist.internals import heartbeat, tell, trial_id
from hpo.persist.liveness import fail_and_requeue
from hpo.search.snapshot_pruner import judge_against_finished
from hpo.train import signals

_logger = logging.getLogger("optuna")


def run_asked_trial(
    study: optuna.Study,
    trial: optuna.Trial,
    objective: Callable[[optuna.Trial], float | Sequence[float]],
    earlier: Sequence[FrozenTrial] | None = None,
) -> FrozenTrial:
    """Train `trial` and tell its end; returns it as stored (see `train_asked_trial`). A trial
    another worker declared dead meanwhile is returned as it is."""
    value, state = train_asked_trial(study, trial, objective, earlier)
    return tell(study, trial, value, state)


def train_asked_trial(
    study: optuna.Study,
    trial: optuna.Trial,
    objective: Callable[[optuna.Trial], float | Sequence[float]],
    earlier: Sequence[FrozenTrial] | None = None,
) -> tuple[float | Sequence[float] | None, TrialState]:
    """Train `trial` and return how it ended (value, state), without telling it. Its pruner
    judges it against the finished trials among `earlier` (default: the study's, read when it
    first reports). A SIGTERM/SIGINT fails and re-queues it (to resume from its checkpoint)
    and re-raises `signals.Interrupted` carrying its number."""
    judge_against_finished(study, earlier)  # (the view takes only trials before this one)
    with heartbeat(study, trial):
        try:
            return objective(trial), TrialState.COMPLETE
        except optuna.TrialPruned:
            return None, TrialState.PRUNED
        except signals.Interrupted as stop:
            fail_and_requeue(
                study, trial_id(trial), f"interrupted by {stop.signal_name}; re-queued"
            )
            stop.trial_number = trial.number  # type: ignore[attr-defined]
            raise
        except Exception:  # the objective recorded the error in stop_reason
            _logger.info("Trial %d failed.", trial.number, exc_info=True)
            return None, TrialState.FAIL
