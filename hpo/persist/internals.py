"""Everything hpo takes from Optuna's private API, in one module (nowhere else touches it).

- ids: `study_id`, `trial_id` (Optuna's storage methods take them; the public objects hide them);
- `base_storage`: the storage behind a study (create_study wraps RDB storages in a cache);
- heartbeats: `heartbeat_enabled`, `stale_trial_ids`, and `HeartbeatJournalStorage`, which
  implements Optuna's private `BaseHeartbeat` interface for JournalStorage.

Optuna 5.0 implements heartbeats only for RDBStorage, so a worker killed while running a trial on
a journal storage leaves that trial RUNNING forever. Our rule for journals, written by hand
because Optuna has none:

- a running trial records `time.time()` in its system attr `hpo:heartbeat` every
  `heartbeat_interval` seconds (Optuna's own heartbeat thread calls `record_heartbeat`);
- a RUNNING trial whose last heartbeat (or, before the first one, its start) is older than
  `grace_period` seconds is stale: Optuna's `fail_stale_trials` marks it FAIL and hands it to the
  stale-trial callback (`RetryHeartbeatStaleTrialCallback`), which re-queues it as WAITING.

Clocks of the machines sharing the journal must agree to well within `grace_period`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import optuna
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages._cached_storage import _CachedStorage
from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled
from optuna.storages.journal import BaseJournalBackend
from optuna.trial import FrozenTrial, TrialState

HEARTBEAT_KEY = "hpo:heartbeat"


def study_id(study: optuna.Study) -> int:
    return study._study_id


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    return trial._trial_id


def base_storage(study: optuna.Study) -> BaseStorage:
    """The storage behind the study (create_study wraps RDB storages in a cache)."""
    storage = study._storage
    return storage._backend if isinstance(storage, _CachedStorage) else storage


def heartbeat_enabled(storage: BaseStorage) -> bool:
    return is_heartbeat_enabled(storage)


def stale_trial_ids(study: optuna.Study) -> list[int]:
    """Ids of RUNNING trials whose heartbeat is older than the grace period (changes nothing)."""
    storage = base_storage(study)
    if not heartbeat_enabled(storage):
        return []
    return list(storage._get_stale_trial_ids(study_id(study)))  # type: ignore[attr-defined]


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """A JournalStorage whose trials send heartbeats, so `optimize()` fails stale ones."""

    def __init__(
        self,
        backend: BaseJournalBackend,
        heartbeat_interval: int,
        grace_period: int,
        stale_trial_callback: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    ) -> None:
        super().__init__(backend)
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.stale_trial_callback = stale_trial_callback

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            self.set_trial_system_attr(trial_id, HEARTBEAT_KEY, time.time())
        except (optuna.exceptions.UpdateFinishedTrialError, KeyError):
            pass  # finished meanwhile, or failed as stale by another worker

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        running = self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
        return [t._trial_id for t in running if now - last_sign_of_life(t) > self.grace_period]

    def get_heartbeat_interval(self) -> int | None:
        return self.heartbeat_interval

    def get_heartbeat_stale_trial_callback(
        self,
    ) -> Callable[[optuna.Study, FrozenTrial], None] | None:
        return self.stale_trial_callback


def last_sign_of_life(trial: FrozenTrial) -> float:
    """The trial's last heartbeat, else its start, as a POSIX timestamp."""
    beat = trial.system_attrs.get(HEARTBEAT_KEY)
    if beat is not None:
        return float(beat)
    started = trial.datetime_start
    return started.timestamp() if started is not None else time.time()
