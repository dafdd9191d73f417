"""Storage URL → Optuna storage.

sqlite:///studies/hpo.db            (default; one file, fine for one or a few local workers)
postgresql://user@host/db           (several workers, several nodes)
mysql+pymysql://user@host/db        (where a driver is installed)
journal:///shared/path/study.log    (JournalStorage on a file: no server, NFS-friendly)
redis://host:6379/0?prefix=name     (JournalStorage on Redis; `prefix` namespaces its keys)

Every storage detects dead workers: RDB storages through Optuna's heartbeats, journal storages
through hpo.journal_heartbeat (Optuna 5.0 has no heartbeat there). A trial whose worker died is
failed and re-queued with the same parameters by `RetryHeartbeatStaleTrialCallback`.
"""

from __future__ import annotations

import importlib.util
import os
import random
import time
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import optuna
from optuna.storages import BaseStorage

from hpo.errors import UsageError
from hpo.journal_heartbeat import HeartbeatJournalStorage

RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
SQLITE_BUSY_TIMEOUT_S = 60

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

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
        if self.heartbeat_interval < 1 or self.grace_period <= self.heartbeat_interval:
            raise UsageError(
                f"--grace-period ({self.grace_period} s) must exceed --heartbeat-interval "
                f"({self.heartbeat_interval} s), which must be at least 1 s"
            )
        if self.max_retry < 0:
            raise UsageError(f"--max-retry must be 0 or more, got {self.max_retry}")

    def retry_callback(self) -> optuna.storages.RetryHeartbeatStaleTrialCallback:
        """Re-queues a dead worker's trial as WAITING with the same parameters and user attrs
        (which carry its checkpoint path); intermediate values are copied by the retry itself,
        only for the epochs its checkpoint holds."""
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=self.max_retry)


def redact(url: str) -> str:
    """The URL with any password replaced by ***, safe to print, log or store."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.split("+", 1)[0]


def file_path(url: str) -> Path | None:
    """The file behind sqlite:/// and journal:/// URLs (three slashes: relative, four: absolute,
    as in SQLAlchemy); None for servers and in-memory SQLite."""
    if scheme_of(url) not in ("sqlite", "journal") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def check_storage_url(url: str) -> None:
    """Validate a URL without creating or touching anything."""
    scheme = scheme_of(url)
    if scheme not in (*RDB_SCHEMES, "journal", "redis", "rediss"):
        raise UsageError(
            f"unknown storage scheme in {redact(url)!r}; use sqlite:///path.db, "
            "postgresql://…, mysql://…, journal:///path.log or redis://host:port"
        )
    if scheme == "journal" and file_path(url) is None:
        raise UsageError(
            f"journal storage needs a file: journal:///path/to/study.log, not {url!r}"
        )
    path = file_path(url)
    if path is not None:
        _check_writable(path)


def check_existing_storage(url: str) -> None:
    """For commands that only read (report, status, export, best, dashboard): a file storage
    must already exist; they never create an empty one."""
    check_storage_url(url)
    path = file_path(url)
    if path is not None and not path.is_file():
        raise UsageError(
            f"no study storage at {path}; run `python -m hpo.study --storage {redact(url)}` "
            "first, or pass the --storage of an existing study"
        )
    if scheme_of(url) == "sqlite" and path is None:
        raise UsageError("an in-memory SQLite storage holds no studies to read")


def open_existing_storage(url: str, liveness: Liveness | None = None) -> BaseStorage:
    """`open_storage` for commands that only read: refuses a storage file that is not there."""
    check_existing_storage(url)
    return open_storage(url, liveness)


def open_storage(url: str, liveness: Liveness | None = None) -> BaseStorage:
    """Open (creating if needed) the storage at `url`, with heartbeats and retries of dead
    workers' trials; unreachable servers are UsageErrors."""
    check_storage_url(url)
    scheme = scheme_of(url)
    live = liveness or Liveness()
    try:
        if scheme in RDB_SCHEMES:
            path = file_path(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            storage: BaseStorage = _open_rdb(url, live)
        else:
            storage = HeartbeatJournalStorage(
                journal_backend(url),
                heartbeat_interval=live.heartbeat_interval,
                grace_period=live.grace_period,
                stale_trial_callback=live.retry_callback(),
            )
        _URLS[storage] = url
        return storage
    except ImportError as exc:
        raise UsageError(f"storage {redact(url)} needs a driver: {exc}; pip install it") from None
    except Exception as exc:  # connection refused, auth, unknown database, …
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot open storage {redact(url)}: {reason}") from None


def _open_rdb(url: str, live: Liveness, attempts: int = 5) -> BaseStorage:
    """RDBStorage; workers starting together on a new database race to create its tables
    ("UNIQUE constraint failed: alembic_version", "already exists"): the losers retry."""
    import sqlalchemy.exc

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(
                sqlalchemy_url(url),
                engine_kwargs=_engine_kwargs(scheme_of(url)),
                heartbeat_interval=live.heartbeat_interval,
                grace_period=live.grace_period,
                heartbeat_stale_trial_callback=live.retry_callback(),
            )
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
    return optuna.storages.journal.JournalRedisBackend(server, prefix=prefix)


def redis_prefix(url: str) -> str:
    return parse_qs(urlsplit(url).query).get("prefix", [""])[0]


def default_checkpoint_root(url: str) -> Path:
    """Where per-trial checkpoints go unless --checkpoint-dir says otherwise: beside a SQLite
    or journal file (studies/ for the default), else ./studies."""
    path = file_path(url)
    return path.parent if path is not None else Path("studies")


def _engine_kwargs(scheme: str) -> dict[str, object]:
    if scheme == "sqlite":
        # Wait for a lock instead of failing with "database is locked" (optuna#820). (WAL mode
        # would halve the per-trial cost, but it leaves data in a -wal file beside the database
        # until a checkpoint, which surprises tools that copy or compare the .db file.)
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {"pool_pre_ping": True}


def _check_writable(path: Path) -> None:
    if path.exists():
        if not path.is_file() or not os.access(path, os.W_OK):
            raise UsageError(f"storage file {path} is not a writable file; choose another path")
        return
    existing = path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise UsageError(
            f"cannot create storage file {path}: {existing} is not writable; "
            "pass --storage sqlite:///a/writable/path.db"
        )
