"""A lock per study, shared by every process on the same storage.

lock = study_lock(study); lock.acquire(); ...; lock.release()

Optuna has no way to "count the trials, then create one only if the budget allows" atomically
(optuna#2638, #3518), so workers serialise that step under this lock. Each kind is released by
the storage itself when its holder dies (kill -9 included):
- SQLite and journal files: `flock` on `<file>.hpo-lock` (the kernel drops it with the process;
  on NFSv4 flock is carried out as an NFS byte-range lock, shared across nodes);
- PostgreSQL: a session advisory lock; MySQL: GET_LOCK (both dropped with the connection);
- Redis: a `redis-py` lock with an expiry;
- anything else (in-memory): a lock of this process only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
import weakref
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.storages import RDBStorage

from hpo.persist.internals import base_storage
from hpo.persist.retry import redis_retry
from hpo.persist.storages import url_of
from hpo.persist.urls import file_path, redis_prefix, scheme_of

REDIS_LOCK_EXPIRY_S = 120


class Lock(Protocol):
    def acquire(self) -> None: ...

    def release(self) -> bool:
        """Release it; False if it had been lost while held (a database server that
        restarted ends the session, and its lock, under a holder that then carries on through
        new connections): another process may have held it meanwhile."""
        ...


#: One lock object per storage and study, reused: a PostgreSQL lock keeps its connection, an
#: in-process lock must be the same object for every caller.
_LOCKS: weakref.WeakKeyDictionary[object, dict[str, Lock]] = weakref.WeakKeyDictionary()


def study_lock(study: optuna.Study) -> Lock:
    storage = base_storage(study)
    locks = _LOCKS.setdefault(storage, {})
    if study.study_name not in locks:
        locks[study.study_name] = _new_lock(storage, f"hpo:{study.study_name}")
    return locks[study.study_name]


def _new_lock(storage: object, name: str) -> Lock:
    if isinstance(storage, RDBStorage):
        dialect = storage.engine.dialect.name
        if dialect == "sqlite" and storage.engine.url.database not in (None, "", ":memory:"):
            return FileLock(Path(str(storage.engine.url.database)))
        if dialect == "postgresql":
            return PostgresLock(storage.engine, name)
        if dialect in ("mysql", "mariadb"):
            return MySQLLock(storage.engine, name)
    url = url_of(storage)
    if url is not None and scheme_of(url) == "journal":
        path = file_path(url)
        assert path is not None
        return FileLock(path)
    if url is not None and scheme_of(url) in ("redis", "rediss"):
        return RedisLock(url, f"{redis_prefix(url)}:{name}:lock")
    return ProcessLock()


class FileLock:
    def __init__(self, data_file: Path) -> None:
        self.path = data_file.with_name(data_file.name + ".hpo-lock")
        self._handle: Any = None

    def acquire(self) -> None:
        handle = open(self.path, "a")  # noqa: SIM115 (kept open while locked)
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        self._handle = handle

    def release(self) -> bool:
        handle = self._handle
        if handle is not None:
            self._handle = None
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()
        return True


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class PostgresLock:
    """A session advisory lock on a connection kept open between acquisitions (a new
    connection per trial would cost more than the lock); one that broke (server restart) is
    replaced."""

    def __init__(self, engine: sqlalchemy.Engine, name: str) -> None:
        self.engine, self.key = engine, _lock_key(name)
        self._conn: sqlalchemy.Connection | None = None

    def acquire(self) -> None:
        for attempt in (1, 2):
            try:
                self._connection().execute(
                    sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": self.key}
                )
                return
            except sqlalchemy.exc.DBAPIError:
                self._drop()
                if attempt == 2:
                    raise

    def release(self) -> bool:
        if self._conn is None:
            return False
        try:
            query = sqlalchemy.text("SELECT pg_advisory_unlock(:k)")
            return bool(self._conn.execute(query, {"k": self.key}).scalar())
        except sqlalchemy.exc.DBAPIError:
            self._drop()  # the session ended: its locks went with it
            return False

    def _connection(self) -> sqlalchemy.Connection:
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class MySQLLock:
    def __init__(self, engine: sqlalchemy.Engine, name: str) -> None:
        self.engine, self.name = engine, name[:64]
        self._conn: sqlalchemy.Connection | None = None

    def acquire(self) -> None:
        conn = self.engine.connect()
        conn.execute(sqlalchemy.text("SELECT GET_LOCK(:n, -1)"), {"n": self.name})
        self._conn = conn

    def release(self) -> bool:
        if self._conn is None:
            return False
        conn, self._conn = self._conn, None
        try:
            query = sqlalchemy.text("SELECT RELEASE_LOCK(:n)")
            return conn.execute(query, {"n": self.name}).scalar() == 1
        except sqlalchemy.exc.DBAPIError:
            return False
        finally:
            with contextlib.suppress(Exception):
                conn.close()


class RedisLock:
    def __init__(self, url: str, key: str) -> None:
        import redis

        server = urlsplit(url)._replace(query="").geturl()
        client = redis.Redis.from_url(server, retry=redis_retry())  # waits through a restart
        self._lock: Any = client.lock(key, timeout=REDIS_LOCK_EXPIRY_S)

    def acquire(self) -> None:
        self._lock.acquire(blocking=True)

    def release(self) -> bool:
        if not self._lock.owned():
            return False  # expired, or the server restarted without it
        self._lock.release()
        return True


class ProcessLock:
    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self) -> None:
        self._lock.acquire()

    def release(self) -> bool:
        if self._lock.locked():
            self._lock.release()
        return True
