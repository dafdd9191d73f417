"""A SQLite storage file that is not a database, or that another program holds locked, before
Optuna touches it.

    check_sqlite_file(Path("studies/hpo.db"), writes=True)

- Not an SQLite database (garbage, another format, a truncated header): a UsageError naming the
  file, read from its 16-byte header only, so not a byte of it changes. (SQLite would say "file
  is not a database" only after SQLAlchemy and alembic have opened it.)
- Locked by another program (a `BEGIN EXCLUSIVE` in a DB browser, a backup): say so once on
  stderr and wait for it, as a user would expect of a lock that is usually brief, up to
  `hpo.persist.retry.patience()` seconds; then a UsageError. Our own workers never hold the
  write lock for long, so waiting does not slow a study; the probe is `BEGIN IMMEDIATE` then
  `ROLLBACK`, which writes nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
from pathlib import Path

from hpo.errors import UsageError
from hpo.persist.retry import patience

HEADER = b"SQLite format 3\x00"


def check_sqlite_file(path: Path, writes: bool) -> None:
    """UsageError if `path` exists and is not an SQLite database; if `writes`, wait (bounded)
    for another program's lock on it."""
    if not path.is_file() or path.stat().st_size == 0:
        return  # SQLite creates it (an empty file is a valid empty database)
    with open(path, "rb") as file:
        header = file.read(len(HEADER))
    if header != HEADER:
        raise UsageError(
            f"storage file {path} is not an SQLite database (no SQLite header); it was left "
            "untouched: pass another --storage, or move it away"
        )
    if writes:
        _wait_for_write_lock(path)


#: Files this process already waited for in vain (a second open does not wait again).
_STAYED_LOCKED: dict[Path, UsageError] = {}


def _wait_for_write_lock(path: Path) -> None:
    if _can_write(path, timeout=0.0):
        return
    if path in _STAYED_LOCKED:
        raise _STAYED_LOCKED[path]
    limit = patience()
    print(
        f"storage file {path} is locked by another program; waiting up to {limit:.0f} s for it",
        file=sys.stderr,
        flush=True,
    )
    start = time.monotonic()
    if not _can_write(path, timeout=limit):
        _STAYED_LOCKED[path] = UsageError(
            f"storage file {path} stayed locked by another program for "
            f"{time.monotonic() - start:.0f} s: close that program and rerun the same command"
        )
        raise _STAYED_LOCKED[path]


def _can_write(path: Path, timeout: float) -> bool:
    """Whether a write transaction can start within `timeout` s (nothing is written)."""
    with contextlib.closing(sqlite3.connect(path, timeout=timeout)) as db:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False
            raise
        db.execute("ROLLBACK")
        return True
