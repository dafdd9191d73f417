"""Everything hpo takes from Optuna's private API, in one module (nowhere else touches it).

- ids: `study_id`, `trial_id` (Optuna's storage methods take them; the public objects hide them);
- `base_storage`: the storage behind a study (create_study wraps RDB storages in a cache);
- `trial_counts`: trials by state with one query on Optuna's table layout;
- heartbeats: `heartbeat_enabled`, `stale_trial_ids`, `heartbeat` (the thread `optimize()`
  runs, for trials run outside it), and `HeartbeatJournalStorage`, which implements Optuna's
  private `BaseHeartbeat` interface for JournalStorage.

Optuna 5.0 implements heartbeats only for RDBStorage, so a worker killed while running a trial on
a journal storage leaves that trial RUNNING forever. Our rule for journals, written by hand
because Optuna has none:

- a running trial records `time.time()` in its system attr `hpo:heartbeat` every
  `heartbeat_interval` seconds (Optuna's own heartbeat thread calls `record_heartbeat`; its
  first call, as the trial starts, writes nothing: the trial's start is its first sign of life,
  and a journal write costs an fsync);
- a RUNNING trial whose last heartbeat (or, before the first one, its start) is older than
  `grace_period` seconds is stale: Optuna's `fail_stale_trials` marks it FAIL and hands it to the
  stale-trial callback (`RetryHeartbeatStaleTrialCallback`), which re-queues it as WAITING.

Clocks of the machines sharing the journal must agree to well within `grace_period`.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator

import optuna
import sqlalchemy
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages._cached_storage import _CachedStorage
from optuna.storages._heartbeat import BaseHeartbeat, get_heartbeat_thread, is_heartbeat_enabled
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


def trial_counts(study: optuna.Study) -> Counter[TrialState]:
    """Trials by state. On a relational storage one COUNT query on Optuna's `trials` table:
    Optuna's own API loads every new trial with its params and attrs to count them, a dozen
    queries where one will do (the budget loop asks before every trial)."""
    storage = base_storage(study)
    if not isinstance(storage, RDBStorage):
        return Counter(t.state for t in study.get_trials(deepcopy=False))
    query = "SELECT state, COUNT(*) FROM trials WHERE study_id = :study GROUP BY state"
    with storage.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text(query), {"study": study_id(study)})
        return Counter({TrialState[str(state)]: int(n) for state, n in rows})


def heartbeat_enabled(storage: BaseStorage) -> bool:
    return is_heartbeat_enabled(storage)


@contextlib.contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
    """Optuna's heartbeat thread for a trial run outside `study.optimize` (which starts it
    itself): the trial records a heartbeat every interval while the block runs."""
    thread = get_heartbeat_thread(trial_id(trial), study._storage)
    thread.start()
    try:
        yield
    finally:
        thread.join()


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
        self._beating: set[int] = set()

    def record_heartbeat(self, trial_id: int) -> None:
        if trial_id not in self._beating:  # the thread's first beat, at the trial's start
            self._beating.add(trial_id)
            return
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
    """The trial's last heartbeat or its start, whichever is later, as a POSIX timestamp (a
    re-queued trial carries its dead predecessor's heartbeat; its own start is newer)."""
    started = trial.datetime_start
    start = started.timestamp() if started is not None else time.time()
    return max(float(trial.system_attrs.get(HEARTBEAT_KEY, start)), start)
