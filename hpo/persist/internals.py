"""Everything hpo takes from Optuna's private API, in one module (nowhere else touches it).

- ids: `study_id`, `trial_id` (Optuna's storage methods take them; the public objects hide them);
- what Optuna already read: `read_at_start` (a trial), `read_when_sampled` (the study's trials);
- `base_storage`: the storage behind a study (create_study wraps RDB storages in a cache);
- `trial_counts`: trials by state with one query on Optuna's table layout;
- fewer storage round trips per trial than the public API makes: `ask_claimed` (a new trial
  created RUNNING with its worker record, and on relational storages its first heartbeat row,
  in one write), `set_user_attrs` (several attrs in one transaction or one journal append),
  `tell` (without `Study.tell`'s second read of the trial, nor a read after it);
- `LeanRDBStorage`: Optuna's RDBStorage, its per-epoch `trial.report` write in one Core
  transaction instead of an ORM session;
- heartbeats: `heartbeat_enabled`, `stale_trial_ids`, `heartbeat` (what `optimize()`'s
  heartbeat thread does, for trials run outside it, from one thread per process), `beat` (one
  heartbeat, for a trial awaiting its tell), and `HeartbeatJournalStorage`, which implements
  Optuna's private `BaseHeartbeat` interface for JournalStorage;
- `hypervolume`: Optuna's exact hypervolume (its public API only plots it).

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
import copy
import datetime
import functools
import itertools
import json
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.orm
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages._cached_storage import _CachedStorage, _StudyInfo
from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.storages.journal import BaseJournalBackend
from optuna.storages.journal._storage import JournalOperation
from optuna.study._tell import _tell_with_warning
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from hpo.persist.retry import StorageUnreachable, redis_retry, storage_fault

HEARTBEAT_KEY = "hpo:heartbeat"


def study_id(study: optuna.Study) -> int:
    return study._study_id


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    return trial._trial_id


def import_storage_modules() -> None:
    """What opening and describing a study imports later (SQLAlchemy's models, alembic's schema
    check, optuna-dashboard's note helpers: ~5 s here), imported now: `hpo study` does it while
    its workers import torch."""
    import alembic.command  # noqa: F401
    import alembic.migration  # noqa: F401
    import optuna.storages._rdb.models  # noqa: F401
    import optuna_dashboard  # noqa: F401


def read_at_start(trial: optuna.Trial) -> FrozenTrial:
    """The trial as read when its `optuna.Trial` was made (Optuna keeps that copy and updates it
    with what the trial itself writes), without another storage read."""
    return trial._cached_frozen_trial


def read_when_sampled(study: optuna.Study) -> list[FrozenTrial] | None:
    """The study's trials as the sampler read them for the trial being asked (Optuna keeps that
    read, per thread, until the next ask), or None if nothing read them."""
    return study._thread_local.cached_all_trials


def base_storage(study: optuna.Study) -> BaseStorage:
    """The storage behind the study (create_study wraps RDB storages in a cache)."""
    storage = study._storage
    return storage._backend if isinstance(storage, _CachedStorage) else storage


def trial_counts(study: optuna.Study) -> Counter[TrialState]:
    """Trials by state. On a relational storage one COUNT query on Optuna's `trials` table:
    Optuna's own API loads every new trial with its params and attrs to count them, a dozen
    queries where one will do (the budget loop asks before every trial). A server runs it
    outside a transaction: one statement reads committed rows either way."""
    storage = base_storage(study)
    if not isinstance(storage, RDBStorage):
        return Counter(t.state for t in study.get_trials(deepcopy=False))
    query = "SELECT state, COUNT(*) FROM trials WHERE study_id = :study GROUP BY state"
    connection = storage.engine.connect()
    if storage.engine.dialect.name != "sqlite":  # one round trip, not BEGIN, SELECT, ROLLBACK
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    with connection:
        rows = connection.execute(sqlalchemy.text(query), {"study": study_id(study)})
        return Counter({TrialState[str(state)]: int(n) for state, n in rows})


def ask_claimed(study: optuna.Study, system_attrs: dict[str, Any]) -> optuna.Trial:
    """`study.ask()` for a trial that carries `system_attrs` from its first write: a re-queued
    (WAITING) trial is taken first, as `ask` takes it; otherwise the new trial is created
    RUNNING with the attrs in one storage write instead of two."""
    study._thread_local.cached_all_trials = None  # as `ask` does: trials may have changed
    waiting = study._pop_waiting_trial_id()
    if waiting is not None:
        for key, value in system_attrs.items():
            study._storage.set_trial_system_attr(waiting, key, value)
        return optuna.Trial(study, waiting)
    template = optuna.trial.create_trial(state=TrialState.RUNNING, system_attrs=system_attrs)
    storage = study._storage
    if isinstance(storage, _CachedStorage) and is_heartbeat_enabled(storage._backend):
        return optuna.Trial(study, _create_claimed(storage, study_id(study), template))
    return optuna.Trial(study, storage.create_new_trial(study_id(study), template))


_CREATED_BEATING: set[int] = set()  # trials created here with their first heartbeat row


def _create_claimed(cached: _CachedStorage, sid: int, template: FrozenTrial) -> int:
    """Optuna's `RDBStorage.create_new_trial` (the study row locked, the trial numbered) with the
    template's system attrs inserted as new rows and the trial's first heartbeat row, in one
    transaction: Optuna checks each attr for an existing row first, and the heartbeat thread's
    first beat was a transaction of its own (~0.5 ms a statement on PostgreSQL here). A RUNNING
    trial without a heartbeat row is never stale to Optuna, so the row must exist from the
    start; `heartbeat()` then skips the thread's beat at once for this trial."""
    rdb = cached._backend
    with _create_scoped_session(rdb.scoped_session) as session:
        models.StudyModel.find_or_raise_by_id(sid, session, for_update=True)
        row = rdb._get_prepared_new_trial(sid, None, session)
        session.add_all(
            [
                models.TrialSystemAttributeModel(
                    trial_id=row.trial_id, key=key, value_json=json.dumps(value)
                )
                for key, value in template.system_attrs.items()
            ]
            + [models.TrialHeartbeatModel(trial_id=row.trial_id)]
        )
        frozen = copy.deepcopy(template)
        frozen.number, frozen.datetime_start = row.number, row.datetime_start
        frozen._trial_id = row.trial_id
    with cached._lock:
        cached._studies.setdefault(sid, _StudyInfo())
        cached._add_trials_to_cache(sid, [frozen])
    _CREATED_BEATING.add(frozen._trial_id)
    return frozen._trial_id


def set_user_attrs(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    """`trial.set_user_attr` for each of `attrs`, in one transaction (relational storages) or
    one append to the journal (one lock, one fsync) instead of one per attr. Raises
    UpdateFinishedTrialError, as `set_user_attr` does, if the trial has finished."""
    storage = base_storage(trial.study)
    tid = trial_id(trial)
    if isinstance(storage, RDBStorage):
        with _create_scoped_session(storage.scoped_session, True) as session:
            _upsert_user_attrs(storage, session, tid, attrs)
    elif isinstance(storage, JournalStorage):
        with storage._thread_lock:
            worker = storage._replay_result.worker_id
            op = JournalOperation.SET_TRIAL_USER_ATTR
            logs = [
                {"op_code": op, "worker_id": worker, "trial_id": tid, "user_attr": {key: value}}
                for key, value in attrs.items()
            ]
            storage._backend.append_logs(logs)
            storage._sync_with_backend()
    else:
        for key, value in attrs.items():
            storage.set_trial_user_attr(tid, key, value)
    trial._cached_frozen_trial.user_attrs.update(attrs)


def _upsert_dialect_named(name: str) -> Any:
    """SQLAlchemy's dialect module whose `insert` has `on_conflict_do_update`, or None (MySQL,
    SQLite before 3.24): then Optuna's own way."""
    dialect = {"sqlite": sqlite_dialect, "postgresql": postgresql_dialect}.get(name)
    if dialect is sqlite_dialect and sqlite3.sqlite_version_info < (3, 24):
        return None
    return dialect


def _upsert_user_attrs(
    storage: RDBStorage, session: sqlalchemy.orm.Session, tid: int, attrs: dict[str, Any]
) -> None:
    """The attrs as one multi-row upsert after one check of the trial (SQLite, PostgreSQL);
    Optuna's own per-attr write checks the trial again for each (two statements an attr)."""
    if not attrs:
        return
    dialect = _upsert_dialect_named(storage.engine.name)
    if dialect is None:
        for key, value in attrs.items():  # (no upsert: Optuna's way)
            storage._set_trial_attr_without_commit(
                session, models.TrialUserAttributeModel, tid, key, value
            )
        return
    storage.check_trial_is_updatable(
        tid, models.TrialModel.find_or_raise_by_id(tid, session).state
    )
    model = models.TrialUserAttributeModel
    rows = [{"trial_id": tid, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]
    insert = dialect.insert(model).values(rows)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[model.trial_id, model.key],
            set_={"value_json": insert.excluded.value_json},
        )
    )


class LeanRDBStorage(RDBStorage):
    """Optuna's RDBStorage with a leaner `set_trial_intermediate_value`, the write behind every
    `trial.report` (once an epoch of every trial): one SQLAlchemy Core transaction, the trial's
    state read and the value upserted, where Optuna's ORM session loads the trial, looks up the
    step, then inserts or updates. Same checks, same errors, same rows; ~1.9 → ~0.6 ms a report
    on SQLite after an epoch of training, when the ORM's Python runs from a cold cache
    (benchmarks/README.md). MySQL and old SQLite go Optuna's way."""

    def set_trial_intermediate_value(
        self, trial_id: int, step: int, intermediate_value: float
    ) -> None:
        upsert = _report_upsert(self.engine.name)
        if upsert is None:
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)
            return
        stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(
            intermediate_value
        )
        row = {"trial_id": trial_id, "step": step, "value": stored, "kind": kind}
        try:
            with self.engine.begin() as connection:
                state = connection.execute(_STATE_OF_TRIAL, {"trial_id": trial_id}).scalar()
                if state is None:
                    raise KeyError(models.NOT_FOUND_MSG)
                self.check_trial_is_updatable(trial_id, state)
                connection.execute(upsert, row)
        except sqlalchemy.exc.SQLAlchemyError as exc:  # (as Optuna's sessions wrap them)
            raise optuna.exceptions.StorageInternalError(
                f"cannot record the intermediate value: {exc}"
            ) from exc


_STATE_OF_TRIAL = sqlalchemy.select(models.TrialModel.state).where(
    models.TrialModel.trial_id == sqlalchemy.bindparam("trial_id")
)


@functools.cache
def _report_upsert(dialect_name: str) -> Any:
    """The intermediate-value upsert for the dialect (built once), or None."""
    dialect = _upsert_dialect_named(dialect_name)
    if dialect is None:
        return None
    model = models.TrialIntermediateValueModel
    insert = dialect.insert(model).values(
        trial_id=sqlalchemy.bindparam("trial_id"),
        step=sqlalchemy.bindparam("step"),
        intermediate_value=sqlalchemy.bindparam("value"),
        intermediate_value_type=sqlalchemy.bindparam("kind"),
    )
    return insert.on_conflict_do_update(
        index_elements=[model.trial_id, model.step],
        set_={
            "intermediate_value": insert.excluded.intermediate_value,
            "intermediate_value_type": insert.excluded.intermediate_value_type,
        },
    )


def tell(
    study: optuna.Study,
    trial: optuna.Trial,
    value: float | Sequence[float] | None,
    state: TrialState,
) -> FrozenTrial:
    """`study.tell(trial, value or state, skip_if_finished=True)` as `optimize` tells (one read
    before the write, not `Study.tell`'s two). Returns the trial as stored: for a COMPLETE or
    PRUNED trial, the trial as this process wrote it (`read_at_start` keeps what it wrote through
    the trial) with its state, values and end, as `optimize` keeps it, without reading it back;
    otherwise (a FAIL, or a trial another worker finished first) read back from the storage."""
    told, values, _ = _tell_with_warning(
        study,
        trial,
        value if state == TrialState.COMPLETE else None,
        state,
        skip_if_finished=True,
        suppress_warning=True,
    )
    _CREATED_BEATING.discard(trial_id(trial))  # (created here, run in another process)
    if told != state or state == TrialState.FAIL:
        return copy.deepcopy(study._storage.get_trial(trial_id(trial)))
    frozen = copy.deepcopy(read_at_start(trial))
    frozen.state, frozen.values = told, values
    frozen.datetime_complete = datetime.datetime.now()  # (Optuna's RDB and journal: this clock)
    return frozen


def heartbeat_enabled(storage: BaseStorage) -> bool:
    return is_heartbeat_enabled(storage)


@contextlib.contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
    """The heartbeat of a trial run outside `study.optimize` (which starts Optuna's itself):
    recorded as the block starts and every interval while it runs, none after it ends."""
    storage = study._storage
    if not is_heartbeat_enabled(storage):
        yield
        return
    tid = trial_id(trial)
    beaten = tid in _CREATED_BEATING
    _CREATED_BEATING.discard(tid)
    token = _PULSE.start(_BeatThroughFaults(storage), tid, beat_now=not beaten)
    try:
        yield
    finally:
        _PULSE.stop(token)


class _Pulse:
    """One heartbeat thread per process, beating for the trials running in it, as Optuna's
    HeartbeatThread does for one (a beat at once, then one every interval). Optuna's starts and
    joins a thread per trial, ~0.3 ms: as much as a journal trial's own writes. Beats run under
    the lock that `stop` takes, so none lands after a trial's block ends (its tell follows)."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # (the thread is not forked)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        # token → (storage, trial id, when its first beat is due: 0.0 for at once)
        self._beating: dict[int, tuple[_BeatThroughFaults, int, float]] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def start(self, heart: _BeatThroughFaults, tid: int, beat_now: bool = True) -> int:
        """Beat for `tid` until `stop(token)`: at once (unless not `beat_now`), then every
        interval."""
        with self._cond:
            token = next(self._tokens)
            first = 0.0 if beat_now else time.monotonic() + heart.get_heartbeat_interval()
            self._beating[token] = (heart, tid, first)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hpo-beat", daemon=True)
                self._thread.start()
            self._cond.notify()
        return token

    def stop(self, token: int) -> None:
        with self._cond:  # waits for a beat in progress
            self._beating.pop(token, None)
            self._cond.notify()

    def _run(self) -> None:
        due: dict[int, float] = {}  # token → when its next beat is due
        with self._cond:
            while True:
                for token, (heart, tid, first) in list(self._beating.items()):
                    if due.setdefault(token, first) <= time.monotonic():
                        heart.record_heartbeat(tid)
                        due[token] = time.monotonic() + heart.get_heartbeat_interval()
                due = {token: at for token, at in due.items() if token in self._beating}
                wait = min(due.values()) - time.monotonic() if due else None
                self._cond.wait(None if wait is None else max(wait, 0.0))


_PULSE = _Pulse()


class _BeatThroughFaults:
    """The storage as Optuna's heartbeat thread sees it: a beat the storage cannot take (its
    server is restarting) is skipped, where Optuna's thread would end with a traceback; the
    trial itself meets the fault and is re-queued (hpo.search.trial_run)."""

    def __init__(self, storage: BaseStorage) -> None:
        self._storage = storage

    def get_heartbeat_interval(self) -> int | None:
        return self._storage.get_heartbeat_interval()  # type: ignore[attr-defined]

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            self._storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]
        except StorageUnreachable:
            pass
        except Exception as exc:
            if not storage_fault(exc):
                raise


def patient_redis(backend: BaseJournalBackend, server: str) -> None:
    """Give the Redis journal backend a client that waits for a restarting server (redis-py's
    Retry, hpo.persist.retry.redis_retry); Optuna's builds its client without one."""
    import redis

    backend._redis = redis.Redis.from_url(server, retry=redis_retry())  # type: ignore[attr-defined]


def beat(study: optuna.Study, trial_ids: list[int]) -> None:
    """Record one heartbeat for each of `trial_ids` (trials finished in a worker and not yet
    told, so that no sweep takes them for dead meanwhile); nothing if heartbeats are off."""
    storage = base_storage(study)
    if heartbeat_enabled(storage):
        for tid in trial_ids:
            _BeatThroughFaults(storage).record_heartbeat(tid)


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


def hypervolume(losses: Any, reference: Any) -> float:
    """The hypervolume of points to minimise (rows of `losses`) up to `reference`: Optuna's
    exact computation (WFG; 2-D by a sweep), which `plot_hypervolume_history` uses."""
    from optuna._hypervolume import compute_hypervolume

    return float(compute_hypervolume(losses, reference))


class PrunedAsComplete:
    """A study as a sampler that models complete trials only should see it when pruning is on:
    each pruned trial reads as complete with its value (the last value it reported, which is
    what is stored on a pruned trial), so the sampler learns where trials were pruned instead
    of proposing the same point again. Everything else is the study's own (writes included).

    Optuna's `_get_trials` is what GPSampler reads its history through; CmaEsSampler has this
    as an option (`consider_pruned_trials`), GPSampler has none."""

    def __init__(self, study: optuna.Study) -> None:
        self._study = study

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(
        self,
        deepcopy: bool = True,
        states: Sequence[TrialState] | None = None,
        use_cache: bool = False,
    ) -> list[FrozenTrial]:
        wanted = None if states is None else tuple(states)
        if wanted is not None and TrialState.COMPLETE in wanted:
            wanted += (TrialState.PRUNED,)
        trials = self._study._get_trials(deepcopy=deepcopy, states=wanted, use_cache=use_cache)
        shown = [_pruned_as_complete(t) if t.state == TrialState.PRUNED else t for t in trials]
        return [t for t in shown if t is not None and (states is None or t.state in states)]


def _pruned_as_complete(trial: FrozenTrial) -> FrozenTrial | None:
    """The pruned trial as complete with its value (else its last report), or None if it has
    neither or several objectives (pruning judges one)."""
    if trial.values is not None:
        if len(trial.values) != 1:
            return None
        value = trial.values[0]
    elif trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
    else:
        return None
    shown = copy.copy(trial)
    shown.state = TrialState.COMPLETE
    shown.value = value
    return shown
