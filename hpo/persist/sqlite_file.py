"""A SQLite storage file that is not a database, or that another program holds locked, before
Optuna touches it.

    check_sqlite_file(Path("studies/hpo.db"), writes=True)

- Not an SQLite database (garbage, another format, a truncated header): a UsageError naming the
  file, read from its 16-byte header only, so not a byte of it changes. (SQLite would say "file
  is not a database" only after SQLAlchemy and alembic have opened it.)
- Locked by another program (a `BEGIN EXCLUSIVE` in a DB browser, a backup): say so once on
  stderr and wait for it, as a user would expect of a lock that is usually brief, up to
  `hpo.persist.retry.patience()` seconds; then a UsageError. Our own workers never hold the
  write lock for more than milliseconds, so only a lock held over 2 s is reported; the probe
  is `BEGIN IMMEDIATE` then `ROLLBACK`, which writes nothing.

Checked once per process and file: closing any descriptor of a file drops every POSIX lock the
process holds on it, SQLite's own included. Once this process may have SQLite connections to
the file, opening it again here (to read its header or probe its lock) would drop their shared
lock on `<db>-shm`; the next process to open the database would then find no one using it and
truncate `-shm` under this process's mapping: a bus error (SIGBUS) on its next read.
"""

from __future__ import annotations

import fcntl
import os
import struct
import sys
import time
from pathlib import Path

from hpo.errors import UsageError
from hpo.persist.retry import patience

HEADER = b"SQLite format 3\x00"
#: Our own workers hold the write lock for milliseconds: a lock held longer than this is
#: another program's (worth a message).
OWN_WRITES_S = 2.0


#: Files checked by this process, which may hold SQLite connections to them since: never opened
#: here again (see the module docstring).
_CHECKED: set[Path] = set()


def check_sqlite_file(path: Path, writes: bool) -> None:
    """UsageError if `path` exists and is not an SQLite database; if `writes`, wait (bounded)
    for another program's lock on it. Only the first call per file in a process checks."""
    key = path.resolve()
    if key not in _CHECKED:
        _check(path, writes)
        _CHECKED.add(key)


def _check(path: Path, writes: bool) -> None:
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
    if not _write_lock_held(path, wait=OWN_WRITES_S):
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
    if _write_lock_held(path, wait=limit):
        _STAYED_LOCKED[path] = UsageError(
            f"storage file {path} stayed locked by another program for "
            f"{time.monotonic() - start:.0f} s: close that program and rerun the same command"
        )
        raise _STAYED_LOCKED[path]


def _write_lock_held(path: Path, wait: float) -> bool:
    """Whether another process still holds SQLite's write lock on `path` after up to `wait` s.
    Asked of the kernel (F_GETLK on the byte SQLite locks), not of SQLite: a SQLite connection
    closed while another holds the lock checkpoints the WAL into the file, changing its bytes."""
    deadline = time.monotonic() + wait
    while True:
        if not _lock_byte_taken(*_write_lock_byte(path)):
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.2)


def _write_lock_byte(path: Path) -> tuple[Path, int]:
    """SQLite's unix VFS: in WAL mode the writer locks byte 120 of `<db>-shm` (WAL_WRITE_LOCK);
    in rollback-journal mode byte 0x40000001 of the database (RESERVED_BYTE)."""
    shm = path.with_name(path.name + "-shm")
    return (shm, 120) if shm.exists() else (path, 0x40000001)


def _lock_byte_taken(path: Path, offset: int) -> bool:
    """F_GETLK: would a write lock on that byte conflict with another process's lock?"""
    query = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)
    try:
        with open(path, "rb") as file:
            answer = fcntl.fcntl(file.fileno(), fcntl.F_GETLK, query)
    except OSError:
        return False  # gone meanwhile: nothing holds it
    return struct.unpack("hh4xqqi4x", answer)[0] != fcntl.F_UNLCK
