"""Storage URLs, read without opening anything (no Optuna, no database driver).

sqlite:///studies/hpo.db            (default; one file, fine for one or a few local workers)
postgresql://user@host/db           (several workers, several nodes)
mysql+pymysql://user@host/db        (where a driver is installed)
journal:///shared/path/study.log    (JournalStorage on a file: no server, NFS-friendly)
redis://host:6379/0?prefix=name     (JournalStorage on Redis; `prefix` namespaces its keys)

`$HPO_STORAGE`, when set, is the default of every --storage flag: a URL with a password is then
never on a command line (`ps` shows those). Better still, keep the password out of the URL:
PostgreSQL reads it from ~/.pgpass. Every URL or command line that is printed or stored goes
through `redact` first.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs

from hpo.config.paths import is_file
from hpo.config.run import DEFAULT_STORAGE
from hpo.errors import UsageError

RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
SCHEMES = (*RDB_SCHEMES, "journal", "redis", "rediss")
STORAGE_ENV = "HPO_STORAGE"

#: `scheme://user:PASSWORD@` anywhere in a text (a URL or a whole command line).
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/?#@:'\"]*):([^\s/?#@'\"]*)@", re.IGNORECASE)
#: `password=SECRET` in a URL's query (libpq and SQLAlchemy accept it there).
_QUERY = re.compile(r"([?&;])password=[^\s&;#'\"]*([&;]?)", re.IGNORECASE)


def redact(text: str, mask: str | None = "***") -> str:
    """A URL or command line with every password in it replaced by `mask`, safe to print, log
    or store: the userinfo's (`user:***@host`) and a query's `password=***`. `mask=None` drops
    the password instead (`user@host`), for commands meant to be pasted: the password then
    comes from ~/.pgpass or $HPO_STORAGE."""
    if mask is None:
        text = _USERINFO.sub(
            lambda m: m.group(1) + ("@" if not m.group(1).endswith("/") else ""), text
        )
        return _QUERY.sub(lambda m: m.group(1) if m.group(2) else "", text)
    text = _USERINFO.sub(rf"\1:{mask}@", text)
    return _QUERY.sub(rf"\1password={mask}\2", text)


def default_storage() -> str:
    """What --storage means when it is not given: $HPO_STORAGE, else the SQLite default."""
    return os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE


STORAGE_HELP = (
    f"storage URL (default: ${STORAGE_ENV} if set, else {DEFAULT_STORAGE}; a password is best "
    "kept in ~/.pgpass or $HPO_STORAGE, off the command line)"
)


#: A URL's scheme as RFC 3986 (and urlsplit) reads it; urlsplit itself raises on some URLs.
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")


def scheme_of(url: str) -> str:
    """'postgresql' for postgresql+psycopg2://…; '' when there is no scheme."""
    found = _SCHEME.match(url)
    return found.group(1).lower().split("+", 1)[0] if found else ""


def file_path(url: str) -> Path | None:
    """The file behind sqlite:/// and journal:/// URLs (three slashes: relative, four: absolute,
    as in SQLAlchemy); None for servers and in-memory SQLite."""
    if scheme_of(url) not in ("sqlite", "journal") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def absolute_url(url: str) -> str:
    """A sqlite:/// or journal:/// URL with its file as an absolute path (the same file from any
    working directory); other URLs unchanged."""
    path = file_path(url)
    if path is None or path.is_absolute():
        return url
    head, rest = url.split(":///", 1)
    query = rest[len(str(rest.split("?", 1)[0])) :]
    return f"{head}:///{path.absolute()}{query}"


def redis_prefix(url: str) -> str:
    query = url.split("?", 1)[1].split("#", 1)[0] if "?" in url else ""
    return parse_qs(query).get("prefix", [""])[0]


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
    if path is not None and not is_file(path):
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
    try:
        _check_writable_path(path)
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte in it
        raise UsageError(
            f"storage path {str(path)!r} is not a usable file name ({exc}); choose another path"
        ) from None


def _check_writable_path(path: Path) -> None:
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
