"""Storage URL (hpo.persist.urls) → Optuna storage.

    storage = open_storage("sqlite:///studies/hpo.db", Liveness(heartbeat_interval=15))

Every storage detects dead workers: RDB storages through Optuna's heartbeats, journal storages
through hpo.persist.internals.HeartbeatJournalStorage (Optuna 5.0 has no heartbeat there). A
trial whose worker died is failed and re-queued with the same parameters by
`RetryHeartbeatStaleTrialCallback`.
"""

from __future__ import annotations

import atexit
import importlib.util
import random
import time
import warnings
import weakref
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

import optuna
import sqlalchemy
from optuna.storages import BaseStorage

from hpo.config.run import check_liveness
from hpo.errors import UsageError
from hpo.persist.internals import HeartbeatJournalStorage, LeanRDBStorage, patient_redis
from hpo.persist.retry import PRE_PING, replace_closed_connections, wait_for_connections
from hpo.persist.sqlite_file import check_sqlite_file
from hpo.persist.urls import (
    RDB_SCHEMES,
    check_existing_storage,
    check_storage_url,
    file_path,
    redact,
    scheme_of,
)

SQLITE_BUSY_TIMEOUT_S = 60

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
# hpo asks its trials itself (hpo.search.trial_run runs the heartbeat thread as optimize() does).
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with")

#: The URL each storage was opened from (locks and status need it; never printed unredacted).
_URLS: weakref.WeakKeyDictionary[BaseStorage, str] = weakref.WeakKeyDictionary()


def url_of(storage: BaseStorage) -> str | None:
    return _URLS.get(storage)


@dataclass(frozen=True)
class Liveness:
    """How dead workers are detected: a running trial records a heartbeat every
    `heartbeat_interval` s; one silent for `grace_period` s is failed and re-queued (at most
    `max_retry` times). Too short a grace period fails live trials (optuna#5470)."""

    heartbeat_interval: int = 15
    grace_period: int = 60
    max_retry: int = 3

    def __post_init__(self) -> None:
        check_liveness(self.heartbeat_interval, self.grace_period, self.max_retry)

    def retry_callback(self) -> optuna.storages.RetryHeartbeatStaleTrialCallback:
        """Re-queues a dead worker's trial as WAITING with the same parameters and user attrs
        (which carry its checkpoint path); intermediate values are copied by the retry itself,
        only for the epochs its checkpoint holds."""
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=self.max_retry)


def open_existing_storage(
    url: str, liveness: Liveness | None = None, writes: bool = False
) -> BaseStorage:
    """`open_storage` for commands on studies already run: refuses a storage file that is not
    there. Commands that only read open a SQLite file read-only (`mode=ro`), so not a byte of
    it can change; `writes=True` for the few that add to it (the report's artifact, notes
    written in the dashboard)."""
    check_existing_storage(url)
    return open_storage(url, liveness, read_only=not writes)


def open_storage(
    url: str, liveness: Liveness | None = None, existing: bool = False, read_only: bool = False
) -> BaseStorage:
    """Open (creating if needed) the storage at `url`, with heartbeats and retries of dead
    workers' trials; unreachable servers are UsageErrors. `existing=True` for a database known
    to hold Optuna's tables: neither creates them nor checks their schema version (a third of
    a second of alembic), for quick reads that fall back to a full open if they fail.
    `read_only=True` opens a SQLite file with `mode=ro` (other storages as they are)."""
    check_storage_url(url)
    scheme = scheme_of(url)
    live = liveness or Liveness()
    try:
        if scheme in RDB_SCHEMES:
            path = file_path(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                check_sqlite_file(path, writes=not read_only)
            storage: BaseStorage = _open_rdb(url, live, existing, read_only)
        else:
            storage = HeartbeatJournalStorage(
                journal_backend(url),
                heartbeat_interval=live.heartbeat_interval,
                grace_period=live.grace_period,
                stale_trial_callback=live.retry_callback(),
            )
        _URLS[storage] = url
        return storage
    except UsageError:
        raise
    except ImportError as exc:
        raise UsageError(f"storage {redact(url)} needs a driver: {exc}; pip install it") from None
    except Exception as exc:  # connection refused, auth, unknown database, …
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot open storage {redact(url)}: {reason}") from None


def _open_rdb(
    url: str, live: Liveness, existing: bool, read_only: bool, attempts: int = 5
) -> BaseStorage:
    """RDBStorage; workers starting together on a new database race to create its tables
    ("UNIQUE constraint failed: alembic_version", "already exists"): the losers retry. SQLite
    runs in WAL mode (below)."""
    import sqlalchemy.exc

    path = file_path(url) if scheme_of(url) == "sqlite" else None
    socket_checked = _socket_checked(url)
    if read_only and path is not None:
        url = f"sqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true"
    for attempt in range(attempts):
        try:
            storage = LeanRDBStorage(
                sqlalchemy_url(url),
                engine_kwargs=_engine_kwargs(url, socket_checked),
                heartbeat_interval=live.heartbeat_interval,
                grace_period=live.grace_period,
                heartbeat_stale_trial_callback=live.retry_callback(),
                skip_table_creation=existing or read_only,
                skip_compatibility_check=existing,
            )
            if path is not None and not read_only:
                _use_wal(storage.engine)
            if scheme_of(url) != "sqlite":  # a server: wait for it through a restart (retry.py)
                wait_for_connections(storage.engine, url)
            if socket_checked:
                replace_closed_connections(storage.engine)
            atexit.register(storage.engine.dispose)  # the last close merges the -wal file
            return storage
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 + random.random())
        except sqlalchemy.exc.OperationalError as exc:
            if "already exists" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.2 + random.random())
    raise AssertionError("unreachable")


def sqlalchemy_url(url: str) -> str:
    """postgresql:// means psycopg2 to SQLAlchemy; use psycopg (3) when only it is installed."""
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg2") is None:
        if importlib.util.find_spec("psycopg") is not None:
            return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def journal_backend(url: str) -> optuna.storages.journal.BaseJournalBackend:
    """The journal log behind journal:///file and redis:// URLs (`?prefix=` namespaces keys)."""
    if scheme_of(url) == "journal":
        path = file_path(url)
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.journal.JournalFileBackend(str(path))
    parts = urlsplit(url)
    prefix = parse_qs(parts.query).get("prefix", [""])[0]
    server = parts._replace(query="").geturl()
    backend = optuna.storages.journal.JournalRedisBackend(server, prefix=prefix)
    patient_redis(backend, server)  # waits through a server restart (hpo.persist.retry)
    return backend


def _engine_kwargs(url: str, socket_checked: bool) -> dict[str, object]:
    if scheme_of(url) == "sqlite":
        # Wait for a lock instead of failing with "database is locked" (optuna#820).
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    if socket_checked:
        return {}  # closed connections are replaced at checkout (replace_closed_connections)
    return dict(PRE_PING)  # connections a server restart closed are replaced at checkout


def _socket_checked(url: str) -> bool:
    """PostgreSQL through psycopg or psycopg2, whose connections show their socket."""
    if scheme_of(url) != "postgresql":
        return False
    return sqlalchemy.make_url(sqlalchemy_url(url)).get_driver_name() in ("psycopg", "psycopg2")


def _use_wal(engine: sqlalchemy.engine.Engine) -> None:
    """Write-ahead logging: a commit appends to `<db>-wal` instead of rewriting pages and
    syncing twice (0.02 ms vs 21 ms measured, see benchmarks/README.md); readers and the
    writer no longer block each other. The mode is stored in the file; `synchronous=NORMAL`
    (still crash-safe in WAL mode) is set on every connection. The -wal file is merged into the
    database when the last connection closes (at exit); commands that only read open the file
    read-only, so they never merge it or change a byte."""

    def on_connect(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")  # type: ignore[attr-defined]

    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    sqlalchemy.event.listen(engine, "connect", on_connect)
    engine.dispose()  # pooled connections reopen with the listener
