"""Storage URL → Optuna storage.

sqlite:///studies/hpo.db            (default; one file, fine for one or a few local workers)
postgresql://user@host/db           (several workers, several nodes)
mysql+pymysql://user@host/db        (where a driver is installed)
journal:///shared/path/study.log    (JournalStorage on a file: no server, NFS-friendly)
redis://host:6379/0                 (JournalStorage on Redis)
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import optuna
from optuna.storages import BaseStorage

from hpo.errors import UsageError

RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
SQLITE_BUSY_TIMEOUT_S = 60


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


def open_storage(url: str) -> BaseStorage:
    """Open (creating if needed) the storage at `url`; unreachable servers are UsageErrors."""
    check_storage_url(url)
    scheme = scheme_of(url)
    try:
        if scheme in RDB_SCHEMES:
            path = file_path(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(scheme))
        if scheme == "journal":
            path = file_path(url)
            assert path is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            backend = optuna.storages.journal.JournalFileBackend(str(path))
            return optuna.storages.JournalStorage(backend)
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalRedisBackend(url))
    except ImportError as exc:
        raise UsageError(f"storage {redact(url)} needs a driver: {exc}; pip install it") from None
    except Exception as exc:  # connection refused, auth, unknown database, …
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot open storage {redact(url)}: {reason}") from None


def _engine_kwargs(scheme: str) -> dict[str, object]:
    if scheme == "sqlite":
        # Wait for a lock instead of failing with "database is locked" (optuna#820).
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
