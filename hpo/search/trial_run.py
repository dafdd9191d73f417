"""One asked trial, trained and told: what `study.optimize` does for a trial, for trials this
package asks itself (under the budget lock, or in worker processes).

    frozen = run_asked_trial(study, trial, objective, trials_read_when_asked)
    value, state = train_asked_trial(study, trial, objective, snapshot)  # told by the caller

Optuna's optimize() cannot run a trial it did not ask, and asks outside our lock; it also
re-checks stale trials before every trial, which our loop does once per claim. So this is ours:
heartbeat while it runs (Optuna's thread), the pruner judging against the trials read when the
trial was claimed (SnapshotPruner: no storage read per epoch), the end told as optimize tells
it — COMPLETE with its value, PRUNED, or FAIL (the objective records why in `stop_reason`).
A trial the storage failed under (its server restarted mid-trial) is failed and re-queued, to
resume from its checkpoint, once the server is back (hpo.persist.retry).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo.persist.internals import base_storage, heartbeat, tell, trial_id
from hpo.persist.liveness import fail_and_requeue
from hpo.persist.retry import StorageUnreachable, reason_of, retrying, storage_fault
from hpo.persist.storages import url_of
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
    url = url_of(base_storage(study))
    return retrying(lambda: tell(study, trial, value, state), url)  # skips a told trial


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
        except StorageUnreachable:
            raise
        except Exception as exc:  # the objective recorded the error in stop_reason
            if storage_fault(exc):
                requeue_after_fault(study, trial, exc)
                return None, TrialState.FAIL  # (already failed: the tell leaves it)
            _logger.info("Trial %d failed.", trial.number, exc_info=True)
            return None, TrialState.FAIL


def requeue_after_fault(study: optuna.Study, trial: optuna.Trial, exc: Exception) -> FrozenTrial:
    """FAIL and re-queue a trial whose storage connection broke under it, once the storage
    answers again; returns it as stored."""
    storage, number = base_storage(study), trial_id(trial)
    reason = f"storage connection lost ({reason_of(exc)}); re-queued"

    def requeue() -> FrozenTrial:
        fail_and_requeue(study, number, reason)
        return copy.deepcopy(storage.get_trial(number))

    return retrying(requeue, url_of(storage))
