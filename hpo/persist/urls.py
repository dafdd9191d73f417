"""Storage URLs, read without opening anything (no Optuna, no database driver).

sqlite:///studies/hpo.db            (default; one file, fine for one or a few local workers)
postgresql://user@host/db           (several workers, several nodes)
mysql+pymysql://user@host/db        (where a driver is installed)
journal:///shared/path/study.log    (JournalStorage on a file: no server, NFS-friendly)
redis://host:6379/0?prefix=name     (JournalStorage on Redis; `prefix` namespaces its keys)
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from hpo.errors import UsageError

RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
SCHEMES = (*RDB_SCHEMES, "journal", "redis", "rediss")


def redact(url: str) -> str:
    """The URL with any password replaced by ***, safe to print, log or store."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def redact_arg(arg: str) -> str:
    """A command-line word with any URL password replaced by ***."""
    if arg.startswith("--") and "=" in arg:
        flag, value = arg.split("=", 1)
        return f"{flag}={redact(value)}"
    return redact(arg) if "://" in arg else arg


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.split("+", 1)[0]


def file_path(url: str) -> Path | None:
    """The file behind sqlite:/// and journal:/// URLs (three slashes: relative, four: absolute,
    as in SQLAlchemy); None for servers and in-memory SQLite."""
    if scheme_of(url) not in ("sqlite", "journal") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def redis_prefix(url: str) -> str:
    return parse_qs(urlsplit(url).query).get("prefix", [""])[0]


def check_storage_url(url: str) -> None:
    """Validate a URL without creating or touching anything."""
    scheme = scheme_of(url)
    if scheme not in SCHEMES:
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
            f"no study storage at {path}; run `hpo study --storage {redact(url)}` "
            "first, or pass the --storage of an existing study"
        )
    if scheme_of(url) == "sqlite" and path is None:
        raise UsageError("an in-memory SQLite storage holds no studies to read")


def default_checkpoint_root(url: str) -> Path:
    """Where per-trial checkpoints go unless --checkpoint-dir says otherwise: beside a SQLite
    or journal file (studies/ for the default), else ./studies."""
    path = file_path(url)
    return path.parent if path is not None else Path("studies")


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
